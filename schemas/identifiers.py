"""Identifier strings shared by every contract."""

from __future__ import annotations

from typing import Annotated

from pydantic import Strict, StringConstraints

Identifier = Annotated[
    str,
    Strict(),
    StringConstraints(min_length=1, max_length=128, pattern=r"^[!-~]+$"),
]
"""An id from the bank or from us: 1..128 printable ASCII characters, no whitespace.

ASCII only because SEPA end-to-end ids, mandate ids and Kafka keys are ASCII in practice,
and a look-alike Unicode character in an id would defeat deduplication.
"""

Pseudonym = Annotated[
    str,
    Strict(),
    StringConstraints(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$"),
]
"""HMAC-SHA256 of a client id with the study key, 64 lowercase hex characters (computed by
``services.intervention.pseudonym.pseudonymise``)."""

Code = Annotated[
    str,
    Strict(),
    StringConstraints(min_length=1, max_length=64, pattern=r"^[!-~]+$"),
]
"""A short machine-readable code (reasons, kinds): never free text, so never PII."""
