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

from services.arrears_detector.events import (
    BusinessDayClosed,
    DirectDebitCollected,
    DirectDebitReturned,
    DomainEvent,
    InstalmentDue,
    PaymentReceived,
)
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


def _one_by_one(
    events: Sequence[tuple[int, DomainEvent]], offsets: Sequence[int] | None = None
) -> Outcome:
    """The reference: every event planned, written and committed before the next one (with
    its source offset when ``offsets`` are given)."""
    ledgers: dict[str, Any] = {}
    watermarks: dict[str, Any] = {}
    processor = PartitionProcessor(ledgers, watermarks, DEFAULT_POLICY)
    steps = []
    for n, (partition, event) in enumerate(events):
        step = processor.apply(partition, event, offsets[n] if offsets is not None else None)
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
    expected_steps, expected, expected_marks = _one_by_one(
        [(p, e) for p, _, e in events], [o for _, o, _ in events]
    )
    assert [[s.signal_id for s in step.signals] for step in replayed[cut:]] == [
        ids for _, ids, _ in expected_steps[cut:]
    ]
    assert ledgers == expected
    assert {k: v for k, v in watermarks.items() if "next-offset" not in k} == {
        k: v for k, v in expected_marks.items() if "next-offset" not in k
    }
    assert {k: v for k, v in watermarks.items() if "next-offset" in k} == {
        offset_key(p): max(o for q, o, _ in events if q == p) + 1 for p, _, _ in events
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=partition_log(), data=st.data())
def test_a_worker_killed_between_a_batchs_ledgers_and_its_marks_changes_nothing(
    log: list[DomainEvent], data: st.DataObject
) -> None:
    """Worker A stores a batch's ledger records (a prefix of them) but is killed before the
    batch's marks; worker B takes over from the older next offset and applies the rest of the
    log. Ledgers already past an event or a day close must not take it again: signal ids and
    final ledgers equal one in-order run (2026-11-28, decision 0007: a day close judged a
    ledger that already held a later return, and flagged a missed instalment three days early).
    """
    events = _with_offsets(_on_two_partitions(log))
    first = data.draw(st.integers(0, len(events)))
    second = data.draw(st.integers(first, len(events)))
    ledgers: dict[str, Any] = {}
    watermarks: dict[str, Any] = {}
    a = PartitionProcessor(ledgers, watermarks, DEFAULT_POLICY)
    published: set[str] = set()
    for partition, offset, event in events[:first]:
        published.update(s.signal_id for s in a.apply(partition, event, offset).signals)
    a.commit(a.writes())
    for partition, offset, event in events[first:second]:
        published.update(s.signal_id for s in a.apply(partition, event, offset).signals)
    killed = a.writes()
    stored = data.draw(st.integers(0, len(killed.ledgers)))
    for loan_id, _, value in killed.ledgers[:stored]:
        ledgers[loan_id] = value  # what reached the changelog; the marks did not

    b = PartitionProcessor(ledgers, watermarks, DEFAULT_POLICY)
    for partition, offset, event in events:
        published.update(s.signal_id for s in b.apply(partition, event, offset).signals)
    b.commit(b.writes())

    expected_steps, expected, _ = _one_by_one(
        [(p, e) for p, _, e in events], [o for _, o, _ in events]
    )
    assert published == {signal_id for _, ids, _ in expected_steps for signal_id in ids}
    assert ledgers_only(ledgers) == ledgers_only(expected)


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


def _kill_case() -> list[DomainEvent]:
    """Loan sim7-L000003 of the captured crash-test failure (decision 0007): a collection
    returned, collected again, returned again; Easter 2027 in between."""
    amount = Decimal("347.78")

    def collected(n: int, day: date) -> DomainEvent:
        return DirectDebitCollected(
            event_id=f"c{n}", loan_id="L3", client_id="C3", end_to_end_id=f"E{n}",
            mandate_id="M3", bank_reference=f"B{n}", booking_date=day, amount=amount,
            currency="EUR", instalment_id="I3",
        )  # fmt: skip

    def returned(n: int, day: date) -> DomainEvent:
        return DirectDebitReturned(
            event_id=f"r{n}", loan_id="L3", client_id="C3", end_to_end_id=f"E{n}",
            mandate_id="M3", bank_reference=f"B{n}R", booking_date=day, amount=amount,
            currency="EUR", reason_code="AM04", reason_category="retryable",
        )  # fmt: skip

    due = InstalmentDue(
        event_id="due", loan_id="L3", client_id="C3", instalment_id="I3",
        due_date=date(2027, 3, 24), amount=amount, currency="EUR",
        outstanding_balance=Decimal("100000.00"),
    )  # fmt: skip
    before_close = {
        "03-24": [due, collected(14, date(2027, 3, 24))],
        "03-31": [returned(14, date(2027, 3, 31))],
        "04-01": [collected(16, date(2027, 4, 1))],
        "04-05": [returned(16, date(2027, 4, 5))],
    }
    days = ["03-24", "03-25", "03-30", "03-31", "04-01", "04-02", "04-05", "04-06", "04-07"]
    log: list[DomainEvent] = []
    for day in days:
        log.extend(before_close.get(day, []))
        business_date = date.fromisoformat(f"2027-{day}")
        log.append(BusinessDayClosed(event_id=f"tick-{day}", business_date=business_date))
    return log


def test_the_captured_crash_test_failure_does_not_recur() -> None:
    """Worker A commits through the 04-01 collection, then plans up to the 04-05 return and
    is killed after storing the loan's ledger but before the batch's marks; worker B applies
    again from the stored next offset. Its 04-02 close must not judge the ledger that already
    holds the 04-05 return (it flagged the instalment missed three days early)."""
    events = [(0, offset, event) for offset, event in enumerate(_kill_case())]
    collected_again = next(n for n, (_, _, e) in enumerate(events) if e.event_id == "c16")
    returned_again = next(n for n, (_, _, e) in enumerate(events) if e.event_id == "r16")
    ledgers: dict[str, Any] = {}
    watermarks: dict[str, Any] = {}
    a = PartitionProcessor(ledgers, watermarks, DEFAULT_POLICY)
    published: list[str] = []
    for partition, offset, event in events[: collected_again + 1]:
        published += [s.signal_id for s in a.apply(partition, event, offset).signals]
    a.commit(a.writes())
    for partition, offset, event in events[collected_again + 1 : returned_again + 1]:
        published += [s.signal_id for s in a.apply(partition, event, offset).signals]
    for loan_id, _, value in a.writes().ledgers:
        ledgers[loan_id] = value  # reached the changelog; the marks did not

    b = PartitionProcessor(ledgers, watermarks, DEFAULT_POLICY)
    for partition, offset, event in events:
        published += [s.signal_id for s in b.apply(partition, event, offset).signals]
    b.commit(b.writes())

    expected_steps, expected, _ = _one_by_one(
        [(p, e) for p, _, e in events], [o for _, o, _ in events]
    )
    expected_ids = [signal_id for _, ids, _ in expected_steps for signal_id in ids]
    assert expected_ids  # the loan does get flagged: after the second return
    assert set(published) == set(expected_ids)
    assert ledgers_only(ledgers) == ledgers_only(expected)
