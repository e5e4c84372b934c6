"""Signals the core emits (arrears.signals.v1 payloads) and their deterministic ids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from hashlib import sha256
from typing import Final

from schemas.ids import SEPARATOR, deterministic_id  # the one id function of nazorg
from schemas.vocabulary import Bucket, SignalType

__all__ = ["Bucket", "Signal", "SignalType", "signal_id"]

_TOPIC: Final = "arrears.signals.v1"


def signal_id(loan_id: str, signal_type: SignalType, *cause: str) -> str:
    """128-bit id from (loan, type, cause): a replay or a redelivery gives the same id.

    ``cause`` is what makes the signal unique for its loan and type, e.g. the causing
    event id, or an instalment id and the business date (see the ADR for each type).

    ``deterministic_id`` inlined for the hot path: the joined text holds exactly one
    separator per join when no part holds one; otherwise ``deterministic_id`` raises.
    """
    joined = SEPARATOR.join((_TOPIC, loan_id, signal_type, *cause))
    if joined.count(SEPARATOR) != 2 + len(cause):
        return deterministic_id(_TOPIC, loan_id, signal_type, *cause)
    return sha256(joined.encode("utf-8")).digest()[:16].hex()  # hexdigest()[:32], cheaper


@dataclass(frozen=True, slots=True, kw_only=True)
class Signal:
    signal_id: str
    type: SignalType
    loan_id: str
    client_id: str
    business_date: date
    dpd: int
    past_due_amount: Decimal
    exposure: Decimal | None
    cause_event_ids: tuple[str, ...]
    instalment_id: str | None = None
    reason_code: str | None = None
    reason_category: str | None = None
    bucket: Bucket | None = None
