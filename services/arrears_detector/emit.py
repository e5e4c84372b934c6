"""Build a ``Signal`` from the ledger's position on its business date."""

from __future__ import annotations

from datetime import date
from typing import Final

from services.arrears_detector.events import slot_setters
from services.arrears_detector.money import cents
from services.arrears_detector.policy import BUCKET_LABELS, DetectionPolicy
from services.arrears_detector.signals import Signal, SignalType, signal_id
from services.arrears_detector.state import LoanLedger, position

_SIGNAL: Final = slot_setters(Signal)
_new: Final = object.__new__


def emit(
    state: LoanLedger,
    signal_type: SignalType,
    business_date: date,
    cause: tuple[str, ...],
    cause_event_ids: tuple[str, ...],
    policy: DetectionPolicy,
    *,
    instalment_id: str | None = None,
    reason_code: str | None = None,
    reason_category: str | None = None,
    bucket: int | None = None,
) -> Signal:
    """A signal about ``state`` (already updated) as at the close of ``business_date``.

    ``cause`` feeds the deterministic id; ``cause_event_ids`` is the audit trail.
    """
    dpd, past_due = position(state, business_date, policy.tolerance)
    exposure = state.exposure
    # Signal(...) field by field, without the frozen dataclass __init__ (see slot_setters).
    signal: Signal = _new(Signal)
    s = _SIGNAL
    s[0](signal, signal_id(state.loan_id, signal_type, *cause))
    s[1](signal, signal_type)
    s[2](signal, state.loan_id)
    s[3](signal, state.client_id)
    s[4](signal, business_date)
    s[5](signal, dpd)
    s[6](signal, cents(past_due))
    s[7](signal, None if exposure is None else cents(exposure))
    s[8](signal, cause_event_ids)
    s[9](signal, instalment_id)
    s[10](signal, reason_code)
    s[11](signal, reason_category)
    s[12](signal, None if bucket is None else BUCKET_LABELS[bucket])
    return signal
