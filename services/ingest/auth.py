"""Who may post events: a bearer token, or an HMAC-SHA-256 signature of the exact body.

Comparisons are constant-time and on bytes (``hmac.compare_digest`` refuses non-ASCII ``str``,
and header values can be any Latin-1). A signed request carries a timestamp that is part of the
signed message, so a captured request cannot be replayed outside a short window; a replay inside
the window re-submits the same events, which ingest reports as duplicates.

A request that offers a bearer token is judged by the token alone, so it is decided before the
body is read; a signed request needs the body.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Final

from pydantic import SecretStr

AUTHORIZATION_HEADER: Final = "authorization"
SIGNATURE_HEADER: Final = "x-nazorg-signature"
TIMESTAMP_HEADER: Final = "x-nazorg-timestamp"
SIGNATURE_PREFIX: Final = "sha256="
DEFAULT_MAX_SKEW_S: Final = 300
_TIMESTAMP: Final = re.compile(r"[0-9]{1,12}")


class AuthResult(StrEnum):
    """The verdict on a request's credentials; the values are metric labels."""

    OK = "ok"
    MISSING = "missing"
    BAD_TOKEN = "bad_token"  # noqa: S105 - a label, not a secret
    BAD_SIGNATURE = "bad_signature"
    STALE_TIMESTAMP = "stale_timestamp"

    @property
    def detail(self) -> str:
        """What a client needs to know to fix it (never which token or key came close)."""
        return _DETAILS[self]


_DETAILS: Final = {
    AuthResult.OK: "",
    AuthResult.MISSING: "send a bearer token or an X-Nazorg-Signature with X-Nazorg-Timestamp",
    AuthResult.BAD_TOKEN: "the bearer token is not valid",
    AuthResult.BAD_SIGNATURE: "the signature does not match the body and timestamp",
    AuthResult.STALE_TIMESTAMP: "X-Nazorg-Timestamp is not a current Unix time in seconds",
}


def sign(key: str, timestamp: str, body: bytes) -> str:
    """The signature a client sends: hex HMAC-SHA-256 over ``timestamp + "." + body``."""
    message = timestamp.encode("ascii") + b"." + body
    return SIGNATURE_PREFIX + hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _bytes(value: str) -> bytes:
    return value.encode("utf-8", errors="surrogateescape")


def _matches_any(offered: bytes, expected: Sequence[bytes]) -> bool:
    # Compare against every candidate, so the time taken does not tell which one matched.
    matches = [hmac.compare_digest(offered, candidate) for candidate in expected]
    return any(matches)


def check_bearer(headers: Mapping[str, str], tokens: Sequence[SecretStr]) -> AuthResult | None:
    """The verdict when the request offers a bearer token; ``None`` when it offers none."""
    authorization = headers.get(AUTHORIZATION_HEADER, "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    offered = _bytes(credentials.strip())
    expected = [_bytes(token.get_secret_value()) for token in tokens]
    return AuthResult.OK if offered and _matches_any(offered, expected) else AuthResult.BAD_TOKEN


def offers_signature(headers: Mapping[str, str]) -> bool:
    return SIGNATURE_HEADER in headers or TIMESTAMP_HEADER in headers


def check_signature(
    headers: Mapping[str, str],
    body: bytes,
    keys: Sequence[SecretStr],
    now: float,
    max_skew_s: float = DEFAULT_MAX_SKEW_S,
) -> AuthResult:
    """The verdict on a signed request: a fresh timestamp and a signature by one of ``keys``."""
    signature = headers.get(SIGNATURE_HEADER, "")
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    if not signature or not timestamp:
        return AuthResult.MISSING
    if not _TIMESTAMP.fullmatch(timestamp) or abs(now - int(timestamp)) > max_skew_s:
        return AuthResult.STALE_TIMESTAMP
    expected = [_bytes(sign(key.get_secret_value(), timestamp, body)) for key in keys]
    return AuthResult.OK if _matches_any(_bytes(signature), expected) else AuthResult.BAD_SIGNATURE


def authenticate(
    headers: Mapping[str, str],
    body: bytes,
    tokens: Sequence[SecretStr],
    hmac_keys: Sequence[SecretStr],
    now: float,
    max_skew_s: float = DEFAULT_MAX_SKEW_S,
) -> AuthResult:
    """The verdict on a whole request: its bearer token if it offers one, else its signature.

    ``headers`` must have lower-case names.
    """
    bearer = check_bearer(headers, tokens)
    if bearer is not None:
        return bearer
    if not offers_signature(headers):
        return AuthResult.MISSING
    return check_signature(headers, body, hmac_keys, now, max_skew_s)
