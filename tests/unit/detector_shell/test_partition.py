"""The shell's batch processing: any batching and pipelining gives the event-by-event result."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.arrears_detector.events import BusinessDayClosed, DomainEvent
from services.arrears_detector.policy import DEFAULT_POLICY
from services.arrears_detector.shell_partition import PartitionProcessor, Writes
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
    assert {str(p): mark for p, mark in writes.watermarks} == expected_marks


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
