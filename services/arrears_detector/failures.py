"""Direct-debit failures: direct_debit_failed / _refunded, mandate_broken, collection_struggle.

Collection struggle (domain.md: 2 or more rejects, returns or refunds within a rolling
6 months) is a *crossing*: at a failure booked on day X, count the earlier failures
booked in ``[X - 6 months, X]`` (calendar months, inclusive). The signal is emitted when
that count is below the threshold and reaches it with this failure; further failures
while the count stays at or above it emit nothing, and once old failures have left the
window the next crossing emits again. Its id is caused by the failure event that crossed.
"""

from __future__ import annotations

from datetime import date

from services.arrears_detector.calendar import add_months
from services.arrears_detector.emit import emit
from services.arrears_detector.events import (
    DirectDebitRefunded,
    DirectDebitRejected,
    DirectDebitReturned,
)
from services.arrears_detector.policy import DetectionPolicy
from services.arrears_detector.signals import Signal, SignalType
from services.arrears_detector.state import LoanLedger

Failure = DirectDebitRejected | DirectDebitReturned | DirectDebitRefunded


def record_failure(s: LoanLedger, booked: date, policy: DetectionPolicy) -> bool:
    """Add a failure date to ``s`` (a working copy); True when the struggle threshold is crossed."""
    months = policy.struggle_window_months
    window_start = add_months(booked, -months)
    before = sum(1 for day in s.failure_dates if window_start <= day <= booked)
    dates = sorted((*s.failure_dates, booked))
    horizon = add_months(dates[-1], -months)
    s.failure_dates = tuple(day for day in dates if day >= horizon)
    return before < policy.struggle_threshold <= before + 1


def failure_signals(
    s: LoanLedger,
    event: Failure,
    policy: DetectionPolicy,
    crossed: bool,
    instalment_id: str | None,
) -> list[Signal]:
    """Signals for one failure, on its booking date, after ``s`` reflects it."""
    kinds: list[SignalType] = [
        "direct_debit_refunded" if isinstance(event, DirectDebitRefunded) else "direct_debit_failed"
    ]
    if event.reason_category == "mandate_broken":
        kinds.append("mandate_broken")
    if crossed:
        kinds.append("collection_struggle")
    causes = (event.event_id,)
    return [
        emit(
            s,
            kind,
            event.booking_date,
            causes,
            causes,
            policy,
            instalment_id=instalment_id,
            reason_code=event.reason_code,
            reason_category=event.reason_category,
        )
        for kind in kinds
    ]
