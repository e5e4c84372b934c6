"""Who may post events: a bearer token, or an HMAC-SHA-256 signature of the exact body.

Comparisons are constant-time. A signed request carries a timestamp that is part of the signed
message, so a captured request cannot be replayed outside a short window.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence

from pydantic import SecretStr

SIGNATURE_HEADER = "x-nazorg-signature"
TIMESTAMP_HEADER = "x-nazorg-timestamp"
MAX_CLOCK_SKEW_S = 300


def sign(key: str, timestamp: str, body: bytes) -> str:
    """The signature a client sends: hex HMAC-SHA-256 over ``timestamp + "." + body``."""
    message = timestamp.encode("ascii") + b"." + body
    return "sha256=" + hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def authorised(
    headers: Mapping[str, str],
    body: bytes,
    tokens: Sequence[SecretStr],
    hmac_keys: Sequence[SecretStr],
    now: float,
) -> bool:
    """True when the request carries a known bearer token or a fresh valid signature."""
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        offered = authorization[7:].strip().encode("utf-8")
        return any(
            hmac.compare_digest(offered, token.get_secret_value().encode("utf-8"))
            for token in tokens
        )
    signature = headers.get(SIGNATURE_HEADER)
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    if not signature or not timestamp.isdigit():
        return False
    if abs(now - int(timestamp)) > MAX_CLOCK_SKEW_S:
        return False
    return any(
        hmac.compare_digest(signature, sign(key.get_secret_value(), timestamp, body))
        for key in hmac_keys
    )
