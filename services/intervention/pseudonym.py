"""Pseudonymous subjects for the outcome topic: HMAC-SHA-256 of the client id with a study key.

A keyed hash, not a plain one: client ids are short and guessable, so an unkeyed hash could be
reversed by trying every id. Whoever holds the study key can re-identify; analysts do not.
"""

from __future__ import annotations

import hashlib
import hmac


def pseudonymise(client_id: str, study_key: str) -> str:
    """64 lowercase hex characters, stable for a given key."""
    return hmac.new(
        study_key.encode("utf-8"), client_id.encode("utf-8"), hashlib.sha256
    ).hexdigest()
