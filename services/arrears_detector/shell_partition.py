"""The detector's per-partition processing over plain mappings, shared by Faust and replay.

Storage is any ``MutableMapping`` (a Faust table in the worker, a dict in ``replay``), so the
streaming run and the replay run the very same code. Processing is two-phase: ``plan`` computes
the signals and the writes without storing anything; the caller publishes the signals (the
worker waits for the broker's acks) and only then ``commit``s the writes. A crash between the two
phases therefore repeats signals, never loses them.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.arrears_detector.events import BusinessDayClosed, DomainEvent
from services.arrears_detector.ledger import LoanLedger, apply, next_deadline
from services.arrears_detector.policy import DetectionPolicy
from services.arrears_detector.shell_index import DeadlineIndex
from services.arrears_detector.signals import Signal
from services.arrears_detector.snapshot import from_snapshot, to_snapshot


@dataclass(slots=True)
class Step:
    """What one event does to a partition: signals to publish, then writes to store."""

    signals: list[Signal] = field(default_factory=list)
    ledgers: list[tuple[str, dict[str, Any], LoanLedger]] = field(default_factory=list)
    watermark: str | None = None
    evaluated: int = 0

    @property
    def changes_nothing(self) -> bool:
        return not self.ledgers and self.watermark is None


def stored_value(partition: int, state: LoanLedger, policy: DetectionPolicy) -> dict[str, Any]:
    """The table value of a ledger: its snapshot, partition and next deadline (for the index)."""
    deadline = next_deadline(state, policy)
    return {
        "p": partition,
        "next": deadline.isoformat() if deadline else None,
        "ledger": to_snapshot(state),
    }


def _deadline_of(value: dict[str, Any]) -> date | None:
    raw = value.get("next")
    return date.fromisoformat(raw) if raw else None


class PartitionProcessor:
    """Ledgers and tick watermarks of the partitions a worker holds."""

    def __init__(
        self,
        ledgers: MutableMapping[str, Any],
        watermarks: MutableMapping[str, Any],
        policy: DetectionPolicy,
        generation: Callable[[], int] = lambda: 0,
        on_index_rebuild: Callable[[], None] = lambda: None,
    ) -> None:
        self.ledgers = ledgers
        self.watermarks = watermarks
        self.policy = policy
        self._generation = generation
        self._on_index_rebuild = on_index_rebuild
        self._indexes: dict[int, tuple[int, DeadlineIndex]] = {}
        # Live ledgers beside the stored snapshots, so a snapshot is parsed only after recovery
        # (or when storage holds a value this process did not write).
        self._live: dict[str, tuple[dict[str, Any], LoanLedger]] = {}

    def _load(self, loan_id: str) -> LoanLedger | None:
        stored = self.ledgers.get(loan_id)
        if not stored:
            return None
        live = self._live.get(loan_id)
        if live is not None and live[0] is stored:
            return live[1]
        return from_snapshot(stored["ledger"])

    def index(self, partition: int) -> DeadlineIndex:
        """The partition's deadline index, rebuilt from storage after every rebalance."""
        generation = self._generation()
        cached = self._indexes.get(partition)
        if cached is not None and cached[0] == generation:
            return cached[1]
        index = DeadlineIndex()
        index.rebuild(
            (loan_id, _deadline_of(value))
            for loan_id, value in self.ledgers.items()
            if isinstance(value, dict) and value.get("p") == partition
        )
        self._indexes[partition] = (generation, index)
        self._on_index_rebuild()
        return index

    def plan(self, partition: int, event: DomainEvent) -> Step:
        if isinstance(event, BusinessDayClosed):
            return self._plan_day_close(partition, event)
        state = self._load(event.loan_id)
        new_state, signals = apply(state, event, self.policy)
        if new_state is state:
            return Step()
        value = stored_value(partition, new_state, self.policy)
        return Step(signals=signals, ledgers=[(event.loan_id, value, new_state)])

    def _plan_day_close(self, partition: int, tick: BusinessDayClosed) -> Step:
        watermark = self.watermarks.get(str(partition))
        if watermark is not None and tick.business_date <= date.fromisoformat(watermark):
            return Step()
        step = Step(watermark=tick.business_date.isoformat())
        due = self.index(partition).due(tick.business_date)
        step.evaluated = len(due)
        for loan_id in due:
            state = self._load(loan_id)
            if state is None:
                continue
            new_state, signals = apply(state, tick, self.policy)
            if new_state is not state:
                step.signals.extend(signals)
                value = stored_value(partition, new_state, self.policy)
                step.ledgers.append((loan_id, value, new_state))
        return step

    def commit(self, partition: int, step: Step) -> None:
        index = self.index(partition)
        for loan_id, value, state in step.ledgers:
            self.ledgers[loan_id] = value
            self._live[loan_id] = (value, state)
            index.set(loan_id, _deadline_of(value))
        if step.watermark is not None:
            self.watermarks[str(partition)] = step.watermark
