"""Properties of the core over generated loan histories (hypothesis)."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from decimal import Decimal
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.arrears_detector import rules
from services.arrears_detector.conservation import balance
from services.arrears_detector.events import BusinessDayClosed, DomainEvent
from services.arrears_detector.idempotency import WINDOW
from services.arrears_detector.ledger import LoanLedger, apply
from services.arrears_detector.signals import Signal
from services.arrears_detector.snapshot import from_snapshot, to_snapshot
from tests.unit.detector.driver import Partition
from tests.unit.detector.reference import RefLoan
from tests.unit.detector.strategies import partition_log

EXAMPLES = int(os.environ.get("DETECTOR_PROPERTY_EXAMPLES", "100"))  # raise it to hunt bugs
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _run(log: list[DomainEvent], *, use_index: bool = True) -> Partition:
    partition = Partition(use_index=use_index)
    partition.feed_all(log)
    return partition


def _snapshots(partition: Partition) -> dict[str, str]:
    return {k: json.dumps(to_snapshot(v), sort_keys=True) for k, v in partition.ledgers.items()}


@PROPERTY
@given(partition_log())
def test_replay_is_deterministic(log: list[DomainEvent]) -> None:
    first, second = _run(log), _run(log)
    assert first.signals == second.signals
    assert _snapshots(first) == _snapshots(second)


@PROPERTY
@given(partition_log())
def test_signal_ids_are_unique(log: list[DomainEvent]) -> None:
    signals = _run(log).signals
    assert len({s.signal_id for s in signals}) == len(signals)
    for s in signals:
        assert s.cause_event_ids
        assert s.dpd >= 0
        assert s.past_due_amount >= 0
        assert s.past_due_amount.as_tuple().exponent == -2


@PROPERTY
@given(partition_log(), st.data())
def test_redelivered_events_change_nothing(log: list[DomainEvent], data: st.DataObject) -> None:
    """Copies of events re-sent soon after the original (producer retries), and ticks sent
    twice in a row, give the same signals and ledgers."""
    reference = _run(log)
    noisy: list[DomainEvent] = []
    pending: list[tuple[int, DomainEvent]] = []
    for index, event in enumerate(log):
        noisy.append(event)
        if isinstance(event, BusinessDayClosed):
            if data.draw(st.integers(0, 9)) == 0:
                noisy.append(event)
        elif data.draw(st.booleans()):
            pending.append((index + data.draw(st.integers(0, WINDOW // 2)), event))
        noisy += [e for due, e in pending if due == index]
        pending = [(due, e) for due, e in pending if due != index]
    noisy += [e for _, e in pending]
    again = _run(noisy)
    assert again.signals == reference.signals
    assert again.ledgers == reference.ledgers


@PROPERTY
@given(partition_log(), st.data())
def test_crash_restore_and_redelivery(log: list[DomainEvent], data: st.DataObject) -> None:
    """Kill the worker after event k with its ledgers saved (as JSON, like the changelog), then
    re-consume from an earlier committed offset: same signals overall, same ledgers."""
    reference = _run(log)
    crash = data.draw(st.integers(0, len(log)))
    commit = data.draw(st.integers(max(0, crash - WINDOW), crash))
    before = Partition()
    emitted = before.feed_all(log[:crash])
    saved = json.dumps({k: to_snapshot(v) for k, v in before.ledgers.items()})
    restored = Partition(
        ledgers={k: from_snapshot(v) for k, v in json.loads(saved).items()},
        last_tick=before.last_tick,
    )
    emitted += restored.feed_all(log[commit:])
    assert emitted == reference.signals
    assert restored.ledgers == reference.ledgers


@PROPERTY
@given(partition_log())
def test_money_is_conserved_and_snapshots_round_trip(log: list[DomainEvent]) -> None:
    """After every step: the money identity holds, the snapshot survives JSON exactly, and
    the ledgers given to ``apply`` are unchanged (it returns new values)."""
    ledgers: dict[str, LoanLedger] = {}
    today = date.min
    for event in log:
        before = {k: json.dumps(to_snapshot(v)) for k, v in ledgers.items()}
        if isinstance(event, BusinessDayClosed):
            today = event.business_date
            updates = {k: apply(v, event)[0] for k, v in ledgers.items()}
        else:
            updates = {event.loan_id: apply(ledgers.get(event.loan_id), event)[0]}
        assert {k: json.dumps(to_snapshot(v)) for k, v in ledgers.items()} == before
        ledgers.update(updates)
        for ledger in updates.values():
            as_of = max(today, ledger.last_closed or date.min)
            assert balance(ledger, as_of).conserved
            snap = to_snapshot(ledger)
            assert from_snapshot(json.loads(json.dumps(snap))) == ledger


@PROPERTY
@given(partition_log())
def test_skipping_closes_by_next_deadline_loses_nothing(log: list[DomainEvent]) -> None:
    """Evaluating every loan at every close gives the very signals that the next-deadline
    shortcut gives: next_deadline never skips a close that mattered."""
    reference = _run(log)

    def always(state: LoanLedger, policy: object) -> date:
        return date.min if state.last_closed is None else state.last_closed + timedelta(days=1)

    with mock.patch.object(rules, "next_deadline", always):
        forced = _run(log, use_index=False)
    assert _key(forced.signals) == _key(reference.signals)


def _key(signals: list[Signal]) -> list[tuple[object, ...]]:
    return [
        (
            s.signal_id,
            s.type,
            s.business_date,
            s.dpd,
            s.past_due_amount,
            s.exposure,
            s.instalment_id,
            s.bucket,
            s.cause_event_ids,
        )
        for s in signals
    ]


@PROPERTY
@given(partition_log())
def test_compact_ledger_matches_a_naive_money_model(log: list[DomainEvent]) -> None:
    """Pruning paid instalments, remembering collections for 70 days and attributing credit
    lose nothing: every unpaid amount and the credit equal those of a model that keeps all."""
    ledgers: dict[str, LoanLedger] = {}
    models: dict[str, RefLoan] = {}
    for event in log:
        if isinstance(event, BusinessDayClosed):
            continue
        ledger, _ = apply(ledgers.get(event.loan_id), event)
        ledgers[event.loan_id] = ledger
        model = models.setdefault(event.loan_id, RefLoan(event.loan_id))
        model.apply(event)
        assert [
            (i.instalment_id, i.due_date, i.amount - i.paid, i.suspended)
            for i in ledger.instalments
        ] == model.unpaid()
        assert sum((c.amount for c in ledger.credit), Decimal("0.00")) == model.credit_total()
