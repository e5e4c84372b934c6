"""A minimal stand-in for the Faust shell: one partition, a tick watermark, the core."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from services.arrears_detector.events import BusinessDayClosed, DomainEvent
from services.arrears_detector.ledger import LoanLedger, apply, next_deadline
from services.arrears_detector.policy import DEFAULT_POLICY, DetectionPolicy
from services.arrears_detector.signals import Signal


@dataclass
class Partition:
    """Ledgers of one partition, evaluated on ticks through the next-deadline contract."""

    policy: DetectionPolicy = DEFAULT_POLICY
    ledgers: dict[str, LoanLedger] = field(default_factory=dict)
    last_tick: date | None = None
    signals: list[Signal] = field(default_factory=list)
    use_index: bool = True
    """False: hand every tick to every loan and let the core decide (no-op contract)."""

    def feed(self, event: DomainEvent) -> list[Signal]:
        out: list[Signal] = []
        if isinstance(event, BusinessDayClosed):
            if self.last_tick is not None and event.business_date <= self.last_tick:
                return out  # redelivered tick: the shell's per-partition watermark
            for loan_id, ledger in list(self.ledgers.items()):
                due = next_deadline(ledger, self.policy) if self.use_index else date.min
                if due is not None and due <= event.business_date:
                    self.ledgers[loan_id], emitted = apply(ledger, event, self.policy)
                    out += emitted
            self.last_tick = event.business_date
        else:
            self.ledgers[event.loan_id], out = apply(
                self.ledgers.get(event.loan_id), event, self.policy
            )
        self.signals += out
        return out

    def feed_all(self, events: Iterable[DomainEvent]) -> list[Signal]:
        return [s for e in events for s in self.feed(e)]
