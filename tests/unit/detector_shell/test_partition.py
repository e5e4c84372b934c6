"""The shell's batch processing: any batching and pipelining gives the event-by-event result."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.arrears_detector.events import BusinessDayClosed, DomainEvent, PaymentReceived
from services.arrears_detector.idempotency import WINDOW
from services.arrears_detector.policy import DEFAULT_POLICY
from services.arrears_detector.shell_partition import (
    PartitionProcessor,
    Writes,
    is_partition_mark,
    ledgers_only,
    offset_key,
    watermark_key,
)
from tests.unit.detector.strategies import partition_log

Outcome = tuple[list[tuple[int, list[str], str | None]], dict[str, Any], dict[str, Any]]


def _on_two_partitions(log: Sequence[DomainEvent]) -> list[tuple[int, DomainEvent]]:
    """The log on partition 0, and a copy with other loan ids on partition 1, interleaved."""
    out: list[tuple[int, DomainEvent]] = []
    for event in log:
        out.append((0, event))
        if isinstance(event, BusinessDayClosed):
            out.append((1, event))
        else:
            out.append((1, dataclasses.replace(event, loan_id=f"B{event.loan_id}")))
    return out


def _one_by_one(events: Sequence[tuple[int, DomainEvent]]) -> Outcome:
    """The reference: every event planned, written and committed before the next one."""
    ledgers: dict[str, Any] = {}
    watermarks: dict[str, Any] = {}
    processor = PartitionProcessor(ledgers, watermarks, DEFAULT_POLICY)
    steps = []
    for partition, event in events:
        step = processor.apply(partition, event)
        steps.append((partition, [s.signal_id for s in step.signals], step.watermark))
        processor.commit(processor.writes())
    return steps, ledgers, watermarks


def _batched(
    events: Sequence[tuple[int, DomainEvent]], cuts: set[int], rebalances: set[int], depth: int
) -> Outcome:
    """Batches ending before each index in ``cuts``; up to ``depth`` batches uncommitted."""
    ledgers: dict[str, Any] = {}
    watermarks: dict[str, Any] = {}
    generation = [0]
    processor = PartitionProcessor(
        ledgers, watermarks, DEFAULT_POLICY, generation=lambda: generation[0]
    )
    outstanding: list[Writes] = []
    steps = []
    for n, (partition, event) in enumerate(events):
        if n in cuts:
            outstanding.append(processor.writes())
            while len(outstanding) > depth:
                processor.commit(outstanding.pop(0))
        if n in rebalances:
            generation[0] += 1  # the index is rebuilt from storage plus the uncommitted batches
        step = processor.apply(partition, event)
        steps.append((partition, [s.signal_id for s in step.signals], step.watermark))
    outstanding.append(processor.writes())
    for writes in outstanding:
        processor.commit(writes)
    return steps, ledgers, watermarks


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=partition_log(), data=st.data())
def test_any_batching_and_pipelining_equals_event_by_event(
    log: list[DomainEvent], data: st.DataObject
) -> None:
    events = _on_two_partitions(log)
    positions = st.integers(0, len(events))
    cuts = data.draw(st.sets(positions, max_size=12))
    rebalances = data.draw(st.sets(positions, max_size=3))
    depth = data.draw(st.integers(0, 2))
    assert _batched(events, cuts, rebalances, depth) == _one_by_one(events)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=partition_log())
def test_one_batch_writes_each_loan_once_with_its_last_value(log: list[DomainEvent]) -> None:
    events = _on_two_partitions(log)
    processor = PartitionProcessor({}, {}, DEFAULT_POLICY)
    for partition, event in events:
        processor.apply(partition, event)
    writes = processor.writes()
    loans = [loan for loan, _, _ in writes.ledgers]
    assert len(loans) == len(set(loans))
    _, expected, expected_marks = _one_by_one(events)
    assert {loan: value for loan, _, value in writes.ledgers} == expected
    assert {watermark_key(p): mark for p, mark in writes.watermarks} == expected_marks


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=partition_log(), data=st.data())
def test_a_rolled_back_batch_leaves_nothing_behind(
    log: list[DomainEvent], data: st.DataObject
) -> None:
    events = _on_two_partitions(log)
    cut = data.draw(st.integers(0, len(events)))
    ledgers: dict[str, Any] = {}
    watermarks: dict[str, Any] = {}
    processor = PartitionProcessor(ledgers, watermarks, DEFAULT_POLICY)
    for partition, event in events[:cut]:
        processor.apply(partition, event)
    processor.commit(processor.writes())
    # A batch planned (and one more written but never acknowledged), then given up.
    for partition, event in events[cut:]:
        processor.apply(partition, event)
    processor.writes()
    for partition, event in events[cut:]:
        processor.apply(partition, event)
    processor.rollback()
    # Consumed again after the failure: the same result as without the failed attempt.
    steps = [processor.apply(partition, event) for partition, event in events[cut:]]
    processor.commit(processor.writes())
    expected_steps, expected, expected_marks = _one_by_one(events)
    assert [[s.signal_id for s in step.signals] for step in steps] == [
        ids for _, ids, _ in expected_steps[cut:]
    ]
    assert (ledgers, watermarks) == (expected, expected_marks)


def test_batches_are_committed_in_the_order_they_were_planned() -> None:
    processor = PartitionProcessor({}, {}, DEFAULT_POLICY)
    first = processor.writes()
    second = processor.writes()
    with pytest.raises(RuntimeError):
        processor.commit(second)
    processor.commit(first)
    processor.commit(second)


def _with_offsets(events: Sequence[tuple[int, DomainEvent]]) -> list[tuple[int, int, DomainEvent]]:
    """Each event with its offset on its partition, as the consumer would see it."""
    next_offsets: dict[int, int] = {}
    out = []
    for partition, event in events:
        offset = next_offsets.get(partition, 0)
        next_offsets[partition] = offset + 1
        out.append((partition, offset, event))
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=partition_log(), data=st.data())
def test_events_below_the_recorded_offset_are_redeliveries_however_many(
    log: list[DomainEvent], data: st.DataObject
) -> None:
    events = _with_offsets(_on_two_partitions(log))
    cut = data.draw(st.integers(0, len(events)))
    ledgers: dict[str, Any] = {}
    watermarks: dict[str, Any] = {}
    processor = PartitionProcessor(ledgers, watermarks, DEFAULT_POLICY)
    for partition, offset, event in events[:cut]:
        processor.apply(partition, event, offset)
    processor.commit(processor.writes())
    # A consumer restarting from an old committed offset (here: the very start) gets every
    # event again: those already applied change nothing, whatever the ledgers' id window.
    replayed = [processor.apply(p, event, offset) for p, offset, event in events]
    processor.commit(processor.writes())
    assert all(step.changes_nothing for step in replayed[:cut])
    expected_steps, expected, expected_marks = _one_by_one([(p, e) for p, _, e in events])
    assert [[s.signal_id for s in step.signals] for step in replayed[cut:]] == [
        ids for _, ids, _ in expected_steps[cut:]
    ]
    assert ledgers == expected
    assert {k: v for k, v in watermarks.items() if "next-offset" not in k} == expected_marks
    assert {k: v for k, v in watermarks.items() if "next-offset" in k} == {
        offset_key(p): max(o for q, o, _ in events if q == p) + 1 for p, _, _ in events
    }


def test_a_redelivery_longer_than_the_ledgers_id_window_changes_nothing() -> None:
    loan = [
        PaymentReceived(
            event_id=f"P{n}",
            loan_id="L1",
            client_id="C1",
            bank_reference=f"P{n}",
            booking_date=date(2027, 1, 4) + timedelta(days=n),
            amount=Decimal("10.00"),
            currency="EUR",
        )
        for n in range(2 * WINDOW)
    ]
    ledgers: dict[str, Any] = {}
    processor = PartitionProcessor(ledgers, {}, DEFAULT_POLICY)
    for offset, event in enumerate(loan):
        processor.apply(0, event, offset)
    processor.commit(processor.writes())
    applied_once = dict(ledgers)
    replayed = [processor.apply(0, event, offset) for offset, event in enumerate(loan)]
    processor.commit(processor.writes())
    assert all(step.changes_nothing for step in replayed)
    assert ledgers == applied_once


def test_an_event_refused_for_good_counts_as_done_and_the_next_offset_is_kept() -> None:
    watermarks: dict[str, Any] = {}
    processor = PartitionProcessor({}, watermarks, DEFAULT_POLICY)
    assert processor.next_offset(0) is None
    processor.skip(0, 7)  # e.g. undecodable: the worker must not wait for offset 7 again
    assert processor.next_offset(0) == 8
    processor.skip(0, 3)  # a redelivery of an older refused event moves nothing back
    assert processor.next_offset(0) == 8
    processor.commit(processor.writes())
    assert watermarks == {offset_key(0): 8}
    assert processor.next_offset(1) is None


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=partition_log())
def test_marks_share_the_ledgers_table_without_touching_a_loan(log: list[DomainEvent]) -> None:
    """The worker keeps the marks in its ledgers table: they must stay apart from the loans."""
    table: dict[str, Any] = {}
    processor = PartitionProcessor(table, table, DEFAULT_POLICY)
    events = _with_offsets(_on_two_partitions(log))
    for partition, offset, event in events:
        processor.apply(partition, event, offset)
    processor.commit(processor.writes())
    separate: dict[str, Any] = {}
    reference = PartitionProcessor(separate, {}, DEFAULT_POLICY)
    for partition, offset, event in events:
        reference.apply(partition, event, offset)
    reference.commit(reference.writes())
    assert ledgers_only(table) == separate
    assert {k for k in table if is_partition_mark(k)} == {offset_key(p) for p, _, _ in events} | {
        watermark_key(p) for p, _, e in events if isinstance(e, BusinessDayClosed)
    }
    assert not any(is_partition_mark(loan) for loan in separate)
    # The index is rebuilt from the shared table (a rebalance) and finds only loans.
    assert processor.index(0).due(date(2099, 1, 1)) == reference.index(0).due(date(2099, 1, 1))
