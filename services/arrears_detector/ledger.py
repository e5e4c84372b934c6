"""The detector's functional core: ``apply(state, event, policy) -> (state, signals)``.

Pure and deterministic: no clock, no I/O, no randomness. The given ledger is never
mutated; the returned one is a new value (or the very same object when the event changes
nothing), so a caller may keep old ledgers, e.g. as snapshots. Raising leaves the input
intact because all edits happen on a private clone.

Idempotency: a loan event whose id is in the ledger's recent-id window (see
``idempotency``) returns the same ledger and no signals; a ``business_day_closed`` on or
before the ledger's last close is a no-op too. Redelivered ticks that fall between a
ledger's last close and a partition's last tick must be skipped by the shell, which keeps
one tick watermark per partition (the core cannot see ticks it was not evaluated at).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from services.arrears_detector import idempotency, payments, schedule
from services.arrears_detector.deadlines import next_deadline
from services.arrears_detector.events import (
    BusinessDayClosed,
    DirectDebitCollected,
    DirectDebitRefunded,
    DirectDebitRejected,
    DirectDebitReturned,
    DomainEvent,
    InstalmentDue,
    LoanRestructured,
    PaymentPauseAgreed,
    PaymentPauseEnded,
    PaymentReceived,
)
from services.arrears_detector.policy import DEFAULT_POLICY, DetectionPolicy
from services.arrears_detector.rules import LedgerError, close_business_day
from services.arrears_detector.signals import Signal
from services.arrears_detector.state import LoanLedger

Handler = Callable[[LoanLedger, Any, DetectionPolicy], list[Signal]]
_HANDLERS: Final[dict[type, Handler]] = {
    # An exact-type table, not isinstance: one dict lookup on the hot path.
    InstalmentDue: schedule.on_instalment_due,
    DirectDebitCollected: payments.on_collected,
    PaymentReceived: payments.on_payment,
    DirectDebitRejected: payments.on_rejected,
    DirectDebitReturned: payments.on_undone,
    DirectDebitRefunded: payments.on_undone,
    PaymentPauseAgreed: schedule.on_pause_agreed,
    PaymentPauseEnded: schedule.on_pause_ended,
    LoanRestructured: schedule.on_restructured,
}

__all__ = [
    "LedgerError",
    "LoanLedger",
    "apply",
    "close_business_day",
    "next_deadline",
]


def apply(
    state: LoanLedger | None, event: DomainEvent, policy: DetectionPolicy = DEFAULT_POLICY
) -> tuple[LoanLedger, list[Signal]]:
    """Apply one event to a loan's ledger (``None`` for a loan not seen before).

    Raises ``LedgerError`` for an event of another loan, or a tick for a loan that has no
    ledger (the shell only closes days for loans it holds).
    """
    if isinstance(event, BusinessDayClosed):
        if state is None:
            raise LedgerError("business_day_closed needs an existing ledger")
        return close_business_day(state, event.business_date, event.event_id, policy)
    if state is None:
        state = LoanLedger(loan_id=event.loan_id, client_id=event.client_id)
    elif event.loan_id != state.loan_id:
        raise LedgerError(
            f"event {event.event_id} is for loan {event.loan_id}, not {state.loan_id}"
        )
    window = idempotency.admit(state.recent_ids, event.event_id)
    if window is None:
        return state, []
    s = state.clone()
    signals = _HANDLERS[type(event)](s, event, policy)
    s.recent_ids = window
    return s, signals
