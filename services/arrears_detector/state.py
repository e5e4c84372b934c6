"""Per-loan state of the detector: ``LoanLedger`` and the small immutable records it holds.

A ledger is a value. ``apply`` never mutates the ledger it is given: it clones it (one
shallow copy of ~20 slots) and edits the clone before returning it. Every field holds an
immutable value (str, date, Decimal, bytes, tuples of NamedTuples), so old and new
ledgers may share them safely. Keep it that way: a mutable field would break replay.

Compactness (about 1.8 KB in memory, 1.2 KB as a JSON snapshot, for a loan that pays; see
bench/ledger_core.py): fully paid instalments are dropped at once; what a later return or
refund needs to reopen them lives in the collection that paid them, and collections are
forgotten after ``policy.collection_memory_days``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from services.arrears_detector.money import ZERO


class Instalment(NamedTuple):
    """An instalment not (yet) fully paid. Kept sorted by (due_date, instalment_id)."""

    instalment_id: str
    due_date: date
    amount: Decimal
    paid: Decimal
    cause_event_id: str
    """The instalment_due that created it, or the return/refund that reopened it."""
    missed: bool
    """instalment_missed was emitted since it last became unpaid."""
    suspended: bool
    """Due inside a payment pause: never past due, receives no payments (see the ADR)."""

    @property
    def unpaid(self) -> Decimal:
        return self.amount - self.paid


class Allocation(NamedTuple):
    """Part of a collection that went to one instalment: enough to reopen it later."""

    instalment_id: str
    due_date: date
    instalment_amount: Decimal
    amount: Decimal


class Collection(NamedTuple):
    """A settled direct debit that a return or refund may still undo.

    What it can still give back is its allocations plus its own unallocated credit; both
    shrink when it is undone, and the record stays (empty) so that its end-to-end id keeps
    deduplicating until it is forgotten. The first allocation is stored inline: a usual
    collection pays one instalment and then costs one object instead of three (build
    records with ``collection()``, read them with ``.allocations``).
    """

    end_to_end_id: str
    booking_date: date
    instalment_id: str | None
    due_date: date | None
    instalment_amount: Decimal | None
    amount: Decimal | None
    more: tuple[Allocation, ...]

    @property
    def allocations(self) -> tuple[Allocation, ...]:
        if (
            self.instalment_id is None
            or self.due_date is None
            or self.instalment_amount is None
            or self.amount is None
        ):
            return self.more
        first = Allocation(self.instalment_id, self.due_date, self.instalment_amount, self.amount)
        return (first, *self.more)

    def pays(self, instalment_id: str) -> bool:
        """True when this collection paid (part of) ``instalment_id``."""
        return self.instalment_id == instalment_id or any(
            a.instalment_id == instalment_id for a in self.more
        )


def collection(
    end_to_end_id: str, booking_date: date, allocations: tuple[Allocation, ...]
) -> Collection:
    """A ``Collection`` record holding ``allocations`` (the first one inline)."""
    if not allocations:
        return tuple.__new__(Collection, (end_to_end_id, booking_date, None, None, None, None, ()))
    first = allocations[0]
    # tuple.__new__ skips NamedTuple's Python-level __new__: half the cost, hot path.
    return tuple.__new__(Collection, (end_to_end_id, booking_date, *first, allocations[1:]))


class Credit(NamedTuple):
    """Money received but not yet allocated (overpayment). FIFO by arrival."""

    source: str
    """End-to-end id of the collection it came from, "" when it cannot be undone."""
    amount: Decimal


class Pause(NamedTuple):
    pause_id: str
    start_date: date
    end_date: date
    """Inclusive; a pause ended before it began has end_date < start_date (empty)."""


@dataclass(slots=True)
class LoanLedger:
    """Everything the detector knows about one loan. Treat as immutable (see module doc)."""

    loan_id: str
    client_id: str
    exposure: Decimal | None = None
    instalments: tuple[Instalment, ...] = ()
    collections: tuple[Collection, ...] = ()
    credit: tuple[Credit, ...] = ()
    pauses: tuple[Pause, ...] = ()
    failure_dates: tuple[date, ...] = ()
    """Booking dates of rejects/returns/refunds inside the collection-struggle window."""
    total_due: Decimal = ZERO
    """Sum of every instalment amount ever due (conservation)."""
    net_received: Decimal = ZERO
    """Collections and payments minus returns and refunds (conservation)."""
    last_closed: date | None = None
    """Latest business day this ledger was evaluated at (not every tick evaluates it)."""
    in_arrears: bool = False
    bucket: int = -1
    """Index of the current DPD bucket while in arrears, -1 otherwise."""
    last_cure: date | None = None
    material_since: date | None = None
    """First close of the current run of closes with a material past-due amount."""
    default_since: date | None = None
    """Close at which default was entered; None when not in default."""
    probation_start: date | None = None
    """First close of the current clean run while in default."""
    distressed_on: date | None = None
    """Effective date of a distressed restructuring that lengthens this default's probation."""
    recent_ids: bytes = b""
    """Digests of recently applied event ids (``idempotency``)."""

    def clone(self) -> LoanLedger:
        """A shallow copy (fields are immutable): the working copy ``apply`` edits."""
        c: LoanLedger = object.__new__(LoanLedger)
        c.loan_id = self.loan_id
        c.client_id = self.client_id
        c.exposure = self.exposure
        c.instalments = self.instalments
        c.collections = self.collections
        c.credit = self.credit
        c.pauses = self.pauses
        c.failure_dates = self.failure_dates
        c.total_due = self.total_due
        c.net_received = self.net_received
        c.last_closed = self.last_closed
        c.in_arrears = self.in_arrears
        c.bucket = self.bucket
        c.last_cure = self.last_cure
        c.material_since = self.material_since
        c.default_since = self.default_since
        c.probation_start = self.probation_start
        c.distressed_on = self.distressed_on
        c.recent_ids = self.recent_ids
        return c


def standing(
    state: LoanLedger, as_of: date, tolerance: Decimal
) -> tuple[int, Decimal, Instalment | None]:
    """(DPD, past-due amount, the instalment that sets the DPD) at the close of ``as_of``
    (domain.md Conventions), in one walk.

    Past due = unpaid amount of the instalments due on or before ``as_of`` that count as
    unpaid (unpaid > tolerance, not suspended); DPD = ``as_of`` - due date of the oldest of
    them.
    """
    past_due = ZERO
    oldest: Instalment | None = None
    for inst in state.instalments:
        if inst.due_date > as_of:
            break
        if inst.suspended:
            continue
        unpaid = inst.amount - inst.paid
        if unpaid > tolerance:
            past_due += unpaid
            if oldest is None:
                oldest = inst
    return ((as_of - oldest.due_date).days if oldest is not None else 0), past_due, oldest


def is_suspended(due_date: date, pauses: tuple[Pause, ...]) -> bool:
    return any(p.start_date <= due_date <= p.end_date for p in pauses)


def sort_key(inst: Instalment) -> tuple[date, str]:
    return inst.due_date, inst.instalment_id
