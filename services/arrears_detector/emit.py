"""Build a ``Signal`` from the ledger's position on its business date."""

from __future__ import annotations

from datetime import date

from services.arrears_detector.money import cents
from services.arrears_detector.policy import BUCKET_LABELS, DetectionPolicy
from services.arrears_detector.signals import Bucket, Signal, SignalType, signal_id
from services.arrears_detector.state import LoanLedger, position


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
    label: Bucket | None = None
    if bucket is not None:
        label = BUCKET_LABELS[bucket]
    return Signal(
        signal_id=signal_id(state.loan_id, signal_type, *cause),
        type=signal_type,
        loan_id=state.loan_id,
        client_id=state.client_id,
        business_date=business_date,
        dpd=dpd,
        past_due_amount=cents(past_due),
        exposure=None if state.exposure is None else cents(state.exposure),
        cause_event_ids=cause_event_ids,
        instalment_id=instalment_id,
        reason_code=reason_code,
        reason_category=reason_category,
        bucket=label,
    )
