"""Money moves on a loan's open instalments: pay oldest first, undo a collection, use credit.

Pure functions over tuples. Instalments are sorted by (due_date, instalment_id), so
"oldest unpaid first" (domain.md §3) is a left-to-right walk. Suspended instalments (due
inside a payment pause) take no money.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import NamedTuple

from services.arrears_detector.money import ZERO
from services.arrears_detector.state import (
    Allocation,
    Collection,
    Credit,
    Instalment,
    Pause,
    is_suspended,
    sort_key,
)
from services.arrears_detector.state import collection as make_collection


class Payment(NamedTuple):
    instalments: tuple[Instalment, ...]
    allocations: tuple[Allocation, ...]
    leftover: Decimal
    """Money no unpaid instalment could take: becomes credit."""
    fully_paid: tuple[Instalment, ...]
    """Instalments this payment completed (as they were before it); dropped from the ledger."""
    partial: Instalment | None
    """The instalment this payment left partly unpaid (as it is after it)."""


def paid_in_full(instalments: tuple[Instalment, ...], amount: Decimal) -> Instalment | None:
    """The only open instalment, when ``amount`` pays all of it: the usual payment, for which
    ``allocate`` has nothing to walk, and a caller that needs no ``Payment`` can skip building
    one (a tuple subclass instance costs ~2,000 instructions to build and free)."""
    if len(instalments) == 1:
        only = instalments[0]
        if not only.suspended and not only.paid and only.amount <= amount:
            return only
    return None


def allocate(instalments: tuple[Instalment, ...], amount: Decimal) -> Payment:
    """Allocate ``amount`` to the oldest unpaid, unsuspended instalments first."""
    only = paid_in_full(instalments, amount)
    if only is not None:  # the common case: exactly this month's instalment is open
        # tuple.__new__ skips NamedTuple's Python-level __new__: half the cost, hot path.
        alloc = tuple.__new__(
            Allocation, (only.instalment_id, only.due_date, only.amount, only.amount)
        )
        return tuple.__new__(Payment, ((), (alloc,), amount - only.amount, (only,), None))
    remaining = amount
    kept: list[Instalment] = []
    allocations: list[Allocation] = []
    fully_paid: list[Instalment] = []
    partial: Instalment | None = None
    for inst in instalments:
        if not remaining or inst.suspended:
            kept.append(inst)
            continue
        # Reuse the amount object while nothing is paid: one Decimal less per ledger record.
        unpaid = inst.amount - inst.paid if inst.paid else inst.amount
        if unpaid <= remaining:
            remaining -= unpaid
            allocations.append(Allocation(inst.instalment_id, inst.due_date, inst.amount, unpaid))
            fully_paid.append(inst)
        else:
            partial = Instalment(
                inst.instalment_id,
                inst.due_date,
                inst.amount,
                inst.paid + remaining,
                inst.cause_event_id,
                inst.missed,
                False,
            )
            allocations.append(
                Allocation(inst.instalment_id, inst.due_date, inst.amount, remaining)
            )
            remaining = ZERO
            kept.append(partial)
    return Payment(tuple(kept), tuple(allocations), remaining, tuple(fully_paid), partial)


def insert(instalments: tuple[Instalment, ...], new: Instalment) -> tuple[Instalment, ...]:
    """``instalments`` plus ``new``, still sorted (appending is the common case)."""
    if not instalments:
        return (new,)
    last = instalments[-1]
    if last.due_date < new.due_date or (
        last.due_date == new.due_date and last.instalment_id <= new.instalment_id
    ):
        return (*instalments, new)
    return tuple(sorted((*instalments, new), key=sort_key))


class Undo(NamedTuple):
    instalments: tuple[Instalment, ...]
    credit: tuple[Credit, ...]
    collection: Collection
    reopened: tuple[str, ...]
    """Ids of the instalments that became (more) unpaid, newest first."""
    unmatched: Decimal
    """Part of the undone amount the collection cannot account for (see ``reopen_unknown``)."""


def undo(
    instalments: tuple[Instalment, ...],
    credit: tuple[Credit, ...],
    collection: Collection,
    amount: Decimal,
    pauses: tuple[Pause, ...],
    cause_event_id: str,
) -> Undo:
    """Take ``amount`` of ``collection`` back: first its unallocated credit, then the
    instalments it paid, newest first, each unpaid again from its original due date."""
    remaining = amount
    source = collection.end_to_end_id
    new_credit: list[Credit] = []
    for entry in credit:
        if remaining and entry.source == source:
            used = min(entry.amount, remaining)
            remaining -= used
            if entry.amount - used:
                new_credit.append(Credit(source, entry.amount - used))
        else:
            new_credit.append(entry)
    by_id = {inst.instalment_id: inst for inst in instalments}
    allocations = list(collection.allocations)
    reopened: list[str] = []
    while remaining and allocations:
        alloc = allocations.pop()
        used = min(alloc.amount, remaining)
        remaining -= used
        if alloc.amount - used:
            allocations.append(alloc._replace(amount=alloc.amount - used))
        inst = by_id.get(alloc.instalment_id)
        if inst is None:  # it had been fully paid and dropped: recreate it
            by_id[alloc.instalment_id] = Instalment(
                alloc.instalment_id,
                alloc.due_date,
                alloc.instalment_amount,
                alloc.instalment_amount - used,
                cause_event_id,
                False,
                is_suspended(alloc.due_date, pauses),
            )
        else:
            by_id[alloc.instalment_id] = inst._replace(paid=inst.paid - used)
        reopened.append(alloc.instalment_id)
    done = make_collection(collection.end_to_end_id, collection.booking_date, tuple(allocations))
    return Undo(
        tuple(sorted(by_id.values(), key=sort_key)),
        tuple(new_credit),
        done,
        tuple(reopened),
        remaining,
    )


def apply_credit(
    instalments: tuple[Instalment, ...],
    credit: tuple[Credit, ...],
    collections: tuple[Collection, ...],
) -> tuple[tuple[Instalment, ...], tuple[Credit, ...], tuple[Collection, ...]]:
    """Let waiting credit pay unpaid instalments, oldest credit first.

    What a collection's credit pays is added to that collection's allocations, so that
    undoing the collection later reopens exactly those instalments.
    """
    if not credit or not any(not inst.suspended for inst in instalments):
        return instalments, credit, collections
    left: list[Credit] = []
    records = {c.end_to_end_id: c for c in collections}
    for entry in credit:
        if not any(not inst.suspended for inst in instalments):
            left.append(entry)
            continue
        paid = allocate(instalments, entry.amount)
        instalments = paid.instalments
        record = records.get(entry.source) if entry.source else None
        if record is not None and paid.allocations:
            records[entry.source] = make_collection(
                record.end_to_end_id, record.booking_date, record.allocations + paid.allocations
            )
        if paid.leftover:
            left.append(Credit(entry.source, paid.leftover))
    return instalments, tuple(left), tuple(records.values())


def reopen_unknown(
    instalments: tuple[Instalment, ...],
    reopen_id: str,
    booking_date: date,
    amount: Decimal,
    pauses: tuple[Pause, ...],
    cause_event_id: str,
) -> tuple[Instalment, ...]:
    """Money returned for a collection we no longer (or never) knew: a synthetic
    instalment due on the booking date (Fineract's convention, see the ADR)."""
    new = Instalment(
        reopen_id,
        booking_date,
        amount,
        ZERO,
        cause_event_id,
        False,
        is_suspended(booking_date, pauses),
    )
    return insert(instalments, new)


def resuspend(
    instalments: tuple[Instalment, ...], pauses: tuple[Pause, ...]
) -> tuple[Instalment, ...]:
    """Recompute every instalment's suspended flag after the pauses changed."""
    return tuple(
        inst
        if inst.suspended == (flag := is_suspended(inst.due_date, pauses))
        else inst._replace(suspended=flag)
        for inst in instalments
    )
