"""Deterministic ids.

Ids derived from their inputs make a replay produce the same messages byte for byte and
let every consumer deduplicate redeliveries (at-least-once in, effectively-once out).
"""

from __future__ import annotations

import hashlib
from typing import Final

SEPARATOR: Final = "\x1f"  # ASCII unit separator: never part of an id


def deterministic_id(*parts: str) -> str:
    """First 32 hex chars (128 bits) of SHA-256 over ``parts`` joined by ``\\x1f``.

    Parts containing the separator are refused, otherwise ``("a\\x1fb",)`` and
    ``("a", "b")`` would collide.
    """
    if not parts:
        raise ValueError("deterministic_id needs at least one part")
    if any(SEPARATOR in part for part in parts):
        raise ValueError("an id part must not contain the \\x1f separator")
    return hashlib.sha256(SEPARATOR.join(parts).encode("utf-8")).hexdigest()[:32]
