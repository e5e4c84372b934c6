"""Money events: collections, transfers, rejects, returns and refunds.

Handlers take a fresh clone made by ``ledger.apply`` and edit it in place; the caller's
ledger is never touched. Their signals carry the event's booking date as business date.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from schemas.ids import deterministic_id
from services.arrears_detector import allocation
from services.arrears_detector.calendar import canonical
from services.arrears_detector.emit import emit
from services.arrears_detector.events import (
    DirectDebitCollected,
    DirectDebitRefunded,
    DirectDebitRejected,
    DirectDebitReturned,
    PaymentReceived,
)
from services.arrears_detector.failures import failure_signals, record_failure
from services.arrears_detector.policy import DetectionPolicy
from services.arrears_detector.signals import Signal
from services.arrears_detector.state import Collection, Credit, LoanLedger, collection


def use_credit(s: LoanLedger) -> None:
    """Let waiting credit pay unpaid instalments (``allocation.apply_credit``)."""
    if s.credit:
        s.instalments, s.credit, s.collections = allocation.apply_credit(
            s.instalments, s.credit, s.collections
        )


@lru_cache(maxsize=64)
def _days(n: int) -> timedelta:
    return timedelta(days=n)


def _memory_horizon(as_of: date, policy: DetectionPolicy) -> date:
    return as_of - _days(policy.collection_memory_days)


def _forget_old_collections(s: LoanLedger, as_of: date, policy: DetectionPolicy) -> None:
    """Drop collections booked more than ``collection_memory_days`` before ``as_of``.

    Purely to bound memory, so it is lazy: it keeps two records at least and starts from
    the oldest (records arrive in booking order). ``on_undone`` checks a record's age
    itself, so a record kept a little longer is never used to reopen instalments.
    Day ordinals rather than dates minus a timedelta: the same comparisons, cheaper.
    """
    records = s.collections
    if len(records) < 3:  # a loan collected monthly holds 2-3; undo checks the age anyway
        return
    horizon = as_of.toordinal() - policy.collection_memory_days  # of _memory_horizon
    if records[0].booking_date.toordinal() >= horizon:
        return
    first = 1
    while first < len(records) and records[first].booking_date.toordinal() < horizon:
        first += 1
    kept = records[first:]
    s.collections = kept
    if s.credit:  # credit of a forgotten collection can no longer be undone with it
        alive = {c.end_to_end_id for c in kept}
        s.credit = tuple(
            c if not c.source or c.source in alive else Credit("", c.amount) for c in s.credit
        )


def _receive(
    s: LoanLedger,
    e: DirectDebitCollected | PaymentReceived,
    source: str,
    policy: DetectionPolicy,
) -> list[Signal]:
    amount = e.amount
    only = allocation.paid_in_full(s.instalments, amount)
    if only is not None and only.amount == amount and e.booking_date <= only.due_date:
        # Paid exactly and on time: what the general path below does, minus its records.
        s.instalments = ()
        s.net_received += amount
        if source:
            fields = (source, canonical(e.booking_date), *only[:3], only.amount, ())
            s.collections = (*s.collections, tuple.__new__(Collection, fields))
        return []
    paid = allocation.allocate(s.instalments, amount)
    instalments, allocations, leftover, fully_paid, partial = paid
    s.instalments = instalments
    s.net_received += amount
    if leftover:
        s.credit = (*s.credit, Credit(source, leftover))
    if source:
        booked = canonical(e.booking_date)
        if allocations:  # collection(source, booked, allocations) without the call
            record = tuple.__new__(Collection, (source, booked, *allocations[0], allocations[1:]))
        else:
            record = collection(source, booked, allocations)
        s.collections = (*s.collections, record)
    if partial is None and len(fully_paid) == 1 and e.booking_date <= fully_paid[0].due_date:
        return []  # one instalment paid on time: the common case, nothing to say
    return _payment_signals(s, e, paid, policy)


def _payment_signals(
    s: LoanLedger,
    e: DirectDebitCollected | PaymentReceived,
    paid: allocation.Payment,
    policy: DetectionPolicy,
) -> list[Signal]:
    """late_payment when an instalment becomes paid (unpaid down to the tolerance) after its
    due date; partial_payment when the payment leaves a due instalment unpaid beyond it."""
    tolerance = policy.tolerance
    day = e.booking_date
    causes = (e.event_id,)
    settled = [
        inst
        for inst in paid.fully_paid
        if day > inst.due_date and inst.amount - inst.paid > tolerance
    ]
    partial = paid.partial
    is_partial = False
    if partial is not None and partial.due_date <= day:
        left = partial.amount - partial.paid
        before = left + paid.allocations[-1].amount
        if left > tolerance:
            is_partial = True
        elif before > tolerance and day > partial.due_date:
            settled.append(partial)
    signals = [
        emit(
            s,
            "late_payment",
            day,
            (inst.instalment_id, e.event_id),
            causes,
            policy,
            instalment_id=inst.instalment_id,
        )
        for inst in settled
    ]
    if is_partial and partial is not None:
        signals.append(
            emit(
                s,
                "partial_payment",
                day,
                (partial.instalment_id, e.event_id),
                causes,
                policy,
                instalment_id=partial.instalment_id,
            )
        )
    return signals


def on_collected(s: LoanLedger, e: DirectDebitCollected, policy: DetectionPolicy) -> list[Signal]:
    """Settled debit: pay oldest first, and remember what it paid for a later undo.

    A second collection with a known end-to-end id is the same bank transaction.
    """
    _forget_old_collections(s, e.booking_date, policy)
    e2e = e.end_to_end_id
    for record in s.collections:
        if record[0] == e2e:  # record.end_to_end_id, as a plain index on the hot path
            return []
    return _receive(s, e, e2e, policy)


def on_payment(s: LoanLedger, e: PaymentReceived, policy: DetectionPolicy) -> list[Signal]:
    """Manual transfer: pays oldest first; it cannot be returned, so no record is kept."""
    return _receive(s, e, "", policy)


def on_rejected(s: LoanLedger, e: DirectDebitRejected, policy: DetectionPolicy) -> list[Signal]:
    """Rejected before settlement: no money moved, but it is a failed collection."""
    crossed = record_failure(s, e.booking_date, policy)
    return failure_signals(s, e, policy, crossed, None)


def on_undone(
    s: LoanLedger, e: DirectDebitReturned | DirectDebitRefunded, policy: DetectionPolicy
) -> list[Signal]:
    """Return or refund: the money goes back and the instalments it paid reopen from their
    original due date. Money the collection cannot account for reopens as a synthetic
    instalment due on the booking date (collection forgotten, unknown, or over-undone)."""
    _forget_old_collections(s, e.booking_date, policy)
    s.net_received -= e.amount
    unmatched = e.amount
    first: str | None = None
    horizon = _memory_horizon(e.booking_date, policy)
    for index, record in enumerate(s.collections):
        if record.end_to_end_id != e.end_to_end_id or record.booking_date < horizon:
            continue
        undone = allocation.undo(s.instalments, s.credit, record, e.amount, s.pauses, e.event_id)
        s.instalments, s.credit = undone.instalments, undone.credit
        s.collections = (*s.collections[:index], undone.collection, *s.collections[index + 1 :])
        unmatched = undone.unmatched
        first = undone.reopened[-1] if undone.reopened else None
        break
    if unmatched:
        reopen_id = "reopen:" + deterministic_id("reopen", s.loan_id, e.event_id)
        s.instalments = allocation.reopen_unknown(
            s.instalments, reopen_id, canonical(e.booking_date), unmatched, s.pauses, e.event_id
        )
        first = first or reopen_id
    use_credit(s)
    crossed = record_failure(s, e.booking_date, policy)
    return failure_signals(s, e, policy, crossed, first)
