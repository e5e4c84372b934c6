"""Build a ``Signal`` from the ledger's position on its business date."""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from services.arrears_detector.money import cents
from services.arrears_detector.policy import BUCKET_LABELS, DetectionPolicy
from services.arrears_detector.signals import Signal, SignalType, signal_id
from services.arrears_detector.state import LoanLedger, standing

_new: Final = object.__new__


class _Draft:
    """``Signal``'s slots without its frozen ``__setattr__``: filled with plain attribute stores,
    then made a ``Signal`` by assigning ``__class__``, which Python allows between classes with
    the same ``__slots__`` (Data model, "__slots__"). A third of the cost of calling the 13 slot
    descriptors; the result is the ``Signal`` the constructor would build (tests hold it)."""

    __slots__ = Signal.__slots__


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
    dpd, past_due, _ = standing(state, business_date, policy.tolerance)
    exposure = state.exposure
    # Signal(...) field by field, without the frozen dataclass __init__ (see _Draft).
    draft: Any = _new(_Draft)
    draft.signal_id = signal_id(state.loan_id, signal_type, *cause)
    draft.type = signal_type
    draft.loan_id = state.loan_id
    draft.client_id = state.client_id
    draft.business_date = business_date
    draft.dpd = dpd
    draft.past_due_amount = cents(past_due)
    draft.exposure = None if exposure is None else cents(exposure)
    draft.cause_event_ids = cause_event_ids
    draft.instalment_id = instalment_id
    draft.reason_code = reason_code
    draft.reason_category = reason_category
    draft.bucket = None if bucket is None else BUCKET_LABELS[bucket]
    draft.__class__ = Signal
    signal: Signal = draft
    return signal
