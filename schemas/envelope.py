"""The CloudEvents-style envelope (structured mode) around every message on a topic."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Strict, StringConstraints

from schemas.base import ContractModel
from schemas.identifiers import Identifier
from schemas.temporal import UtcDatetime

SPECVERSION: Final = "1.0"
DATACONTENTTYPE: Final = "application/json"

SourceRef = Annotated[
    str, Strict(), StringConstraints(min_length=1, max_length=256, pattern=r"^[!-~]+$")
]
"""The producer as a URI-reference, e.g. ``nazorg/ingest`` or ``bank/payment-pipeline``."""


class Envelope(ContractModel):
    """Fields every message carries; one subclass per message ``type``.

    Subclasses narrow ``type`` to a ``Literal`` (the discriminator), ``dataschema`` to the
    URN of their topic version and ``data`` to their payload model. Envelope constants
    (``specversion``, ``dataschema``, ``datacontenttype``) have defaults; payload fields
    never do, so a producer cannot forget one silently.
    """

    specversion: Literal["1.0"] = SPECVERSION
    id: Identifier
    """Stable event id: consumers deduplicate on it."""
    source: SourceRef
    type: str
    time: UtcDatetime
    """Event time (when it happened at the bank), not when it was processed."""
    dataschema: str
    datacontenttype: Literal["application/json"] = DATACONTENTTYPE
    producedtime: UtcDatetime | None = None
    """Wall time the producer emitted the message; for metrics only, never for logic."""
    subject: Identifier | None = None
    data: ContractModel
