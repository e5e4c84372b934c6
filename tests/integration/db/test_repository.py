"""Contract tests for InterventionRepository: the same functions run on PostgreSQL and SQLite."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import overload

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from services.intervention.repository import InterventionRepository, OutcomeRow, Position, Tx

from .helpers import T0, outcome, position, pseudonym

pytestmark = pytest.mark.integration

CONSUMER, TOPIC = "intervention", "arrears.signals.v1"


@pytest.fixture
def repository(db_engine: Engine) -> InterventionRepository:
    return InterventionRepository(db_engine)


def test_a_new_position_applies_its_outcomes(repository: InterventionRepository) -> None:
    assert repository.last_offset(CONSUMER, TOPIC, 0) is None

    assert repository.record(position(7), [outcome("o-1"), outcome("o-2")])

    assert repository.last_offset(CONSUMER, TOPIC, 0) == 7
    assert [row.id for row in repository.outcomes()] == ["o-1", "o-2"]


def test_a_position_without_outcomes_still_advances(repository: InterventionRepository) -> None:
    assert repository.record(position(3), [])
    assert repository.last_offset(CONSUMER, TOPIC, 0) == 3
    assert repository.count_outcomes() == 0


@pytest.mark.parametrize("replayed_offset", [5, 4, 0])
def test_replayed_input_changes_nothing(
    repository: InterventionRepository, replayed_offset: int
) -> None:
    assert repository.record(position(5), [outcome("o-1")])

    applied = repository.record(position(replayed_offset), [outcome("o-new")])

    assert applied is False
    assert repository.last_offset(CONSUMER, TOPIC, 0) == 5
    assert [row.id for row in repository.outcomes()] == ["o-1"]


def test_a_failing_batch_leaves_neither_outcomes_nor_position(
    repository: InterventionRepository,
) -> None:
    """Position and outcomes commit together or not at all, so a retry is still applied."""
    good = outcome("o-good")
    bad = OutcomeRow(  # a raw client id where a pseudonym belongs: rejected by the database
        id="o-bad", subject="client-1", type="arrears_onset", time=T0, arm=None, payload="{}"
    )

    with pytest.raises(sa.exc.IntegrityError):
        repository.record(position(1), [good, bad])

    assert repository.last_offset(CONSUMER, TOPIC, 0) is None
    assert repository.count_outcomes() == 0
    assert repository.record(position(1), [good])
    assert repository.count_outcomes() == 1


def each(tx: Tx, works: Sequence[Callable[[Tx], object]]) -> None:
    """A batch's ``apply`` that runs the claimed messages' work one by one."""
    for work in works:
        work(tx)


def test_a_batch_claims_each_position_in_order_in_one_transaction(
    repository: InterventionRepository,
) -> None:
    def work(offset: int, outcome_id: str) -> tuple[Position, Callable[[Tx], object]]:
        return position(offset), lambda tx: tx.insert_outcomes([outcome(outcome_id)])

    assert repository.record(position(2), [outcome("o-2")])

    applied = repository.run_batch(
        [work(1, "o-1"), work(3, "o-3"), work(3, "o-3b"), work(4, "o-4")], each
    )

    # Offset 1 was behind the stored 2, the second 3 behind the first: skipped, as run would.
    assert applied == [False, True, False, True]
    assert [row.id for row in repository.outcomes()] == ["o-2", "o-3", "o-4"]
    assert repository.last_offset(CONSUMER, TOPIC, 0) == 4
    assert repository.run_batch([work(3, "o-x"), work(4, "o-y")], each) == [False, False]
    assert repository.count_outcomes() == 3


def test_batch_claims_answer_as_one_by_one_claims_across_partitions(
    repository: InterventionRepository,
) -> None:
    """Random batches over three partitions (one never seen before each round starts),
    stale and repeated offsets included: the batch's answers and stored offsets are those of
    claiming one message at a time."""
    rng = random.Random(20261128)
    for round_ in range(12):
        batch = [
            position(
                rng.randrange(0, 12), partition=rng.randrange(3), consumer=f"batch-{round_ % 4}"
            )
            for _ in range(rng.randrange(1, 15))
        ]
        alone = [replace(p, consumer=p.consumer.replace("batch", "alone")) for p in batch]
        one_by_one = [repository.record(p, []) for p in alone]
        assert repository.run_batch([(p, None) for p in batch], lambda tx, _: None) == one_by_one
        for p in alone:
            assert repository.last_offset(p.consumer, p.topic, p.partition) == (
                repository.last_offset(p.consumer.replace("alone", "batch"), p.topic, p.partition)
            )


def test_a_batch_prelude_runs_first_and_inside_the_transaction(
    repository: InterventionRepository,
) -> None:
    order: list[str] = []

    def prelude(tx: Tx) -> None:
        order.append("prelude")
        tx.insert_outcomes([outcome("o-prelude")])

    def fail(tx: Tx) -> None:
        order.append("message")
        raise RuntimeError("handler bug")

    with pytest.raises(RuntimeError, match="handler bug"):
        repository.run_batch([(position(1), fail)], each, prelude)

    assert order == ["prelude", "message"]
    assert repository.count_outcomes() == 0  # rolled back with the batch
    assert repository.last_offset(CONSUMER, TOPIC, 0) is None


def test_a_failing_message_rolls_back_its_whole_batch(repository: InterventionRepository) -> None:
    bad = OutcomeRow(
        id="o-bad", subject="client-1", type="arrears_onset", time=T0, arm=None, payload="{}"
    )
    items: list[tuple[Position, Callable[[Tx], object]]] = [
        (position(1), lambda tx: tx.insert_outcomes([outcome("o-1")])),
        (position(2), lambda tx: tx.insert_outcomes([bad])),
    ]

    with pytest.raises(sa.exc.IntegrityError):
        repository.run_batch(items, each)

    assert repository.last_offset(CONSUMER, TOPIC, 0) is None
    assert repository.count_outcomes() == 0
    assert repository.run_batch(items[:1], each) == [True]
    assert repository.last_offset(CONSUMER, TOPIC, 0) == 1


def test_duplicate_outcome_ids_are_ignored(repository: InterventionRepository) -> None:
    first = outcome("o-1", client="client-1")

    assert repository.record(position(1), [first, first])
    assert repository.record(position(2), [outcome("o-1", client="client-2"), outcome("o-2")])

    stored = repository.outcomes()
    assert [row.id for row in stored] == ["o-1", "o-2"]
    assert stored[0] == first  # the first write wins; a duplicate never overwrites
    assert repository.last_offset(CONSUMER, TOPIC, 0) == 2


def test_times_come_back_timezone_aware_in_utc_and_ordered_by_instant(
    repository: InterventionRepository,
) -> None:
    amsterdam_summer = timezone(timedelta(hours=2))
    new_york = timezone(timedelta(hours=-5))
    # In local clock text "later" comes first; only the instants say otherwise.
    early = outcome("o-b", time=datetime(2026, 6, 1, 10, 0, tzinfo=amsterdam_summer))  # 08:00Z
    late = outcome("o-a", time=datetime(2026, 6, 1, 4, 0, tzinfo=new_york))  # 09:00Z

    assert repository.record(position(1), [late, early])

    stored = repository.outcomes()
    assert [row.id for row in stored] == ["o-b", "o-a"]
    assert [row.time for row in stored] == [
        datetime(2026, 6, 1, 8, 0, tzinfo=UTC),
        datetime(2026, 6, 1, 9, 0, tzinfo=UTC),
    ]
    assert all(row.time.utcoffset() == timedelta(0) for row in stored)
    assert stored[0].time == early.time  # the same instant as written


def test_microseconds_survive(repository: InterventionRepository) -> None:
    precise = outcome("o-1", time=datetime(2026, 6, 1, 8, 0, 0, 123456, tzinfo=UTC))
    assert repository.record(position(1), [precise])
    assert repository.outcomes()[0].time == precise.time


def test_naive_times_are_refused(repository: InterventionRepository) -> None:
    naive = outcome("o-1", time=datetime(2026, 6, 1, 8, 0))

    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        repository.record(position(1), [naive])

    assert repository.last_offset(CONSUMER, TOPIC, 0) is None


def test_payload_round_trips_byte_for_byte(repository: InterventionRepository) -> None:
    payload = '{"z": 1,  "a": ["€", "ë"], "nested": {"b": null, "a": "1.10"}}'
    row = outcome("o-1")
    row = OutcomeRow(row.id, row.subject, row.type, row.time, row.arm, payload)

    assert repository.record(position(1), [row])

    assert repository.outcomes()[0].payload == payload


@pytest.mark.parametrize("payload", ["{not json", '{"amount": NaN}', ""])
def test_invalid_json_payloads_are_refused(
    repository: InterventionRepository, payload: str
) -> None:
    row = outcome("o-1")
    row = OutcomeRow(row.id, row.subject, row.type, row.time, row.arm, payload)

    with pytest.raises(sa.exc.StatementError):
        repository.record(position(1), [row])

    assert repository.count_outcomes() == 0


def test_outcomes_filter_by_subject_and_order_by_time_then_id(
    repository: InterventionRepository,
) -> None:
    later = T0 + timedelta(days=1)
    assert repository.record(
        position(1),
        [
            outcome("o-3", client="client-1", time=later),
            outcome("o-2", client="client-1", time=T0),
            outcome("o-1", client="client-1", time=T0),
            outcome("o-0", client="client-2", time=T0, arm=None),
        ],
    )

    mine = repository.outcomes(pseudonym("client-1"))
    everyone = repository.outcomes()

    assert [row.id for row in mine] == ["o-1", "o-2", "o-3"]
    assert [row.id for row in everyone] == ["o-0", "o-1", "o-2", "o-3"]
    assert everyone[0].arm is None
    assert repository.outcomes(pseudonym("nobody")) == []
    assert repository.count_outcomes() == 4


def test_positions_are_tracked_per_consumer_topic_and_partition(
    repository: InterventionRepository,
) -> None:
    assert repository.record(position(10, partition=0), [])
    assert repository.record(position(3, partition=1), [])
    assert repository.record(position(5, partition=1), [])
    assert not repository.record(position(5, partition=0), [])
    assert repository.record(position(1, partition=0, consumer="analytics"), [])
    assert repository.record(Position(CONSUMER, "other.topic.v1", 0, 1), [])

    assert repository.last_offset(CONSUMER, TOPIC, 0) == 10
    assert repository.last_offset(CONSUMER, TOPIC, 1) == 5
    assert repository.last_offset("analytics", TOPIC, 0) == 1
    assert repository.last_offset(CONSUMER, "other.topic.v1", 0) == 1
    assert repository.last_offset(CONSUMER, TOPIC, 2) is None


def test_offsets_beyond_32_bits_are_stored(repository: InterventionRepository) -> None:
    assert repository.record(position(2**40), [])
    assert repository.last_offset(CONSUMER, TOPIC, 0) == 2**40


def test_racing_workers_apply_each_position_exactly_once(
    repository: InterventionRepository,
) -> None:
    """Two workers (think: a rebalance handing a partition over) record the same input."""
    rounds = 25
    barrier = threading.Barrier(2)
    results: dict[str, list[bool]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            for offset in range(rounds):
                barrier.wait(timeout=30)
                applied = repository.record(position(offset), [outcome(f"o-{offset}-{name}")])
                results[name].append(applied)
        except BaseException as error:
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(name,)) for name in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    winners = [a + b for a, b in zip(results["a"], results["b"], strict=True)]
    assert winners == [1] * rounds
    assert repository.count_outcomes() == rounds
    assert repository.last_offset(CONSUMER, TOPIC, 0) == rounds - 1


def test_racing_batches_apply_each_position_exactly_once(
    repository: InterventionRepository,
) -> None:
    """Two workers claim overlapping batches of two partitions (a rebalance mid-batch)."""
    rounds = 15
    barrier = threading.Barrier(2)
    applied: dict[str, list[Position]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            for n in range(rounds):
                batch = [position(o, partition=o % 2) for o in range(3 * n, 3 * n + 5)]
                barrier.wait(timeout=30)
                claimed = repository.run_batch([(p, p) for p in batch], lambda tx, _: None)
                applied[name] += [p for p, ok in zip(batch, claimed, strict=True) if ok]
        except BaseException as error:
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(name,)) for name in applied]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    together = applied["a"] + applied["b"]
    every = {position(o, partition=o % 2) for o in range(3 * rounds + 2)}
    # Each offset claimed exactly once, by whichever worker won its first batch.
    assert sorted(together, key=lambda p: p.offset) == sorted(every, key=lambda p: p.offset)
    for partition in (0, 1):
        last = max(p.offset for p in every if p.partition == partition)
        assert repository.last_offset(CONSUMER, TOPIC, partition) == last


class _GatedOutcomes(Sequence[OutcomeRow]):
    """Outcomes whose iteration blocks until released: holds a record() transaction open."""

    def __init__(self, rows: list[OutcomeRow]) -> None:
        self._rows = rows
        self.entered = threading.Event()
        self.release = threading.Event()

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> OutcomeRow: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[OutcomeRow]: ...
    def __getitem__(self, index: int | slice) -> OutcomeRow | Sequence[OutcomeRow]:
        return self._rows[index]

    def __iter__(self) -> Iterator[OutcomeRow]:
        self.entered.set()
        self.release.wait(timeout=30)
        return iter(self._rows)


def test_a_second_worker_waits_for_the_first_and_then_applies_nothing(
    repository: InterventionRepository,
) -> None:
    """Deterministic version of the race: the second worker arrives mid-transaction."""
    first_outcomes = _GatedOutcomes([outcome("o-first")])
    results: dict[str, bool] = {}

    def record(name: str, rows: Sequence[OutcomeRow]) -> None:
        results[name] = repository.record(position(1), rows)

    first = threading.Thread(target=record, args=("first", first_outcomes))
    second = threading.Thread(target=record, args=("second", [outcome("o-second")]))
    first.start()
    assert first_outcomes.entered.wait(timeout=10)  # first has claimed the position
    second.start()
    time.sleep(0.3)
    assert second.is_alive(), "the second worker must wait for the first one's transaction"

    first_outcomes.release.set()
    first.join(timeout=30)
    second.join(timeout=30)

    assert results == {"first": True, "second": False}
    assert [row.id for row in repository.outcomes()] == ["o-first"]


def test_readers_neither_wait_for_nor_see_an_open_write(
    repository: InterventionRepository,
) -> None:
    """Reads run on a snapshot: a report never queues behind (or blocks) the worker."""
    assert repository.record(position(1), [outcome("o-1")])
    in_flight = _GatedOutcomes([outcome("o-2")])
    writer = threading.Thread(target=repository.record, args=(position(2), in_flight))
    writer.start()
    try:
        assert in_flight.entered.wait(timeout=10)
        started = time.monotonic()

        assert repository.last_offset(CONSUMER, TOPIC, 0) == 1
        assert [row.id for row in repository.outcomes()] == ["o-1"]
        assert repository.count_outcomes() == 1
        assert time.monotonic() - started < 2
    finally:
        in_flight.release.set()
        writer.join(timeout=30)
    assert repository.count_outcomes() == 2
