"""A deliberately naive money model, to check the ledger's compact bookkeeping against.

It keeps everything (every instalment, every collection, every allocation) in plain dicts
and lists, never prunes, and recomputes suspension from the pauses each time. Same rules as
the ledger (docs/decisions/0101-detector-rules.md), written without any of its shortcuts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from schemas.ids import deterministic_id
from services.arrears_detector.events import (
    DirectDebitCollected,
    DirectDebitRefunded,
    DirectDebitReturned,
    DomainEvent,
    InstalmentDue,
    PaymentPauseAgreed,
    PaymentPauseEnded,
    PaymentReceived,
)

MEMORY = timedelta(days=70)


@dataclass
class RefLoan:
    loan_id: str
    due: dict[str, tuple[date, Decimal]] = field(default_factory=dict)
    paid: dict[str, Decimal] = field(default_factory=dict)
    pauses: dict[str, tuple[date, date]] = field(default_factory=dict)
    booked: dict[str, date] = field(default_factory=dict)
    allocations: dict[str, list[tuple[str, Decimal]]] = field(default_factory=dict)
    credit: list[tuple[str, Decimal]] = field(default_factory=list)  # (source, amount)
    seen: set[str] = field(default_factory=set)

    def suspended(self, inst: str) -> bool:
        day = self.due[inst][0]
        return any(start <= day <= end for start, end in self.pauses.values())

    def open(self) -> list[str]:
        order = sorted(self.due, key=lambda i: (self.due[i][0], i))
        return [i for i in order if not self.suspended(i) and self.paid[i] < self.due[i][1]]

    def pay(self, amount: Decimal, source: str) -> Decimal:
        for inst in self.open():
            if not amount:
                break
            take = min(amount, self.due[inst][1] - self.paid[inst])
            self.paid[inst] += take
            amount -= take
            if source:
                self.allocations[source].append((inst, take))
        return amount

    def use_credit(self) -> None:
        entries, self.credit = self.credit, []
        for source, amount in entries:
            live = source if source in self.allocations else ""
            left = self.pay(amount, live)
            if left:
                self.credit.append((source, left))

    def undo(self, e: DirectDebitReturned | DirectDebitRefunded) -> None:
        e2e, amount = e.end_to_end_id, e.amount
        if e2e in self.booked and self.booked[e2e] >= e.booking_date - MEMORY:
            kept: list[tuple[str, Decimal]] = []
            for source, value in self.credit:
                take = min(value, amount) if source == e2e else Decimal("0.00")
                amount -= take
                if value - take:
                    kept.append((source, value - take))
            self.credit = kept
            allocs = self.allocations[e2e]
            while amount and allocs:
                inst, value = allocs.pop()
                take = min(value, amount)
                amount -= take
                if value - take:
                    allocs.append((inst, value - take))
                self.paid[inst] -= take
        if amount:
            inst = "reopen:" + deterministic_id("reopen", self.loan_id, e.event_id)
            self.due[inst] = (e.booking_date, amount)
            self.paid[inst] = Decimal("0.00")
        self.use_credit()

    def apply(self, e: DomainEvent) -> None:
        if e.event_id in self.seen:
            return
        self.seen.add(e.event_id)
        if isinstance(e, InstalmentDue):
            if e.instalment_id not in self.due:
                self.due[e.instalment_id] = (e.due_date, e.amount)
                self.paid[e.instalment_id] = Decimal("0.00")
                self.use_credit()
        elif isinstance(e, DirectDebitCollected):
            if e.end_to_end_id not in self.booked:
                self.booked[e.end_to_end_id] = e.booking_date
                self.allocations[e.end_to_end_id] = []
                left = self.pay(e.amount, e.end_to_end_id)
                if left:
                    self.credit.append((e.end_to_end_id, left))
        elif isinstance(e, PaymentReceived):
            left = self.pay(e.amount, "")
            if left:
                self.credit.append(("", left))
        elif isinstance(e, DirectDebitReturned | DirectDebitRefunded):
            self.undo(e)
        elif isinstance(e, PaymentPauseAgreed):
            self.pauses[e.pause_id] = (e.start_date, e.end_date)
            self.use_credit()
        elif isinstance(e, PaymentPauseEnded) and e.pause_id in self.pauses:
            start, end = self.pauses[e.pause_id]
            self.pauses[e.pause_id] = (start, min(end, e.end_date))
            self.use_credit()

    def unpaid(self) -> list[tuple[str, date, Decimal, bool]]:
        """(instalment, due date, unpaid, suspended) of every instalment not fully paid."""
        order = sorted(self.due, key=lambda i: (self.due[i][0], i))
        return [
            (i, self.due[i][0], self.due[i][1] - self.paid[i], self.suspended(i))
            for i in order
            if self.paid[i] < self.due[i][1]
        ]

    def credit_total(self) -> Decimal:
        return sum((amount for _, amount in self.credit), Decimal("0.00"))
