"""Contract tests for the Sofie outbox's dispatcher side and the outcome relay, both backends."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from services.common.db import make_engine
from services.intervention.repository import (
    Delivered,
    InterventionRepository,
    OutboxStats,
    OutcomeRow,
    Parked,
    Retry,
    Settlement,
)

from .helpers import T0, outcome
from .intervention_builders import enqueue_planned, pending

pytestmark = pytest.mark.integration

LEASE_S = 60.0


@pytest.fixture
def repository(db_engine: Engine) -> InterventionRepository:
    return InterventionRepository(db_engine)


# claim_due


def test_due_rows_are_claimed_in_due_order_and_leased(repository: InterventionRepository) -> None:
    enqueue_planned(repository, ["act-b", "act-a"], due=T0)
    enqueue_planned(repository, ["act-0"], due=T0 - timedelta(minutes=1))
    enqueue_planned(repository, ["act-later"], due=T0 + timedelta(seconds=1))

    claimed = repository.claim_due(T0, limit=10, lease_s=LEASE_S)

    assert [row.action_id for row in claimed] == ["act-0", "act-a", "act-b"]
    lease_end = T0 + timedelta(seconds=LEASE_S)
    assert {row.next_attempt_at for row in claimed} == {lease_end}
    assert claimed[1].request_json == pending("act-a").request_json
    assert repository.claim_due(T0, limit=10, lease_s=LEASE_S) == []


def test_claims_respect_the_limit(repository: InterventionRepository) -> None:
    enqueue_planned(repository, ["act-1", "act-2", "act-3"])

    assert [r.action_id for r in repository.claim_due(T0, 2, LEASE_S)] == ["act-1", "act-2"]
    assert [r.action_id for r in repository.claim_due(T0, 2, LEASE_S)] == ["act-3"]
    assert repository.claim_due(T0, 0, LEASE_S) == []


def test_an_expired_lease_makes_a_row_claimable_again(repository: InterventionRepository) -> None:
    """A dispatcher that dies mid-call only delays its rows until the lease ends."""
    enqueue_planned(repository, ["act-1"])
    assert len(repository.claim_due(T0, 10, LEASE_S)) == 1

    just_before = T0 + timedelta(seconds=LEASE_S - 1)
    assert repository.claim_due(just_before, 10, LEASE_S) == []
    lease_end = T0 + timedelta(seconds=LEASE_S)
    assert [r.action_id for r in repository.claim_due(lease_end, 10, LEASE_S)] == ["act-1"]


def test_concurrent_dispatchers_never_claim_the_same_row(
    repository: InterventionRepository,
) -> None:
    action_ids = [f"act-{i:03d}" for i in range(60)]
    enqueue_planned(repository, action_ids)
    barrier = threading.Barrier(3)
    claims: dict[int, list[str]] = {0: [], 1: [], 2: []}
    errors: list[BaseException] = []

    def dispatcher(number: int) -> None:
        try:
            barrier.wait(timeout=10)
            while rows := repository.claim_due(T0, limit=2, lease_s=LEASE_S):
                claims[number].extend(row.action_id for row in rows)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=dispatcher, args=(n,)) for n in claims]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    claimed = [action_id for rows in claims.values() for action_id in rows]
    assert sorted(claimed) == action_ids  # every row once: none twice, none lost


# Attempt results


def test_a_delivery_is_recorded_exactly_once(repository: InterventionRepository) -> None:
    enqueue_planned(repository, ["act-1"])
    assert len(repository.claim_due(T0, 1, LEASE_S)) == 1
    sent = outcome("o-sent-1", type_="action_sent")
    delivered_at = T0 + timedelta(seconds=2)

    assert repository.settle([Delivered("act-1", "sofie-9", delivered_at, (sent,))]) == [True]
    assert repository.settle(
        [
            Delivered("act-1", "sofie-10", delivered_at, (sent,)),
            Delivered("act-1", "sofie-10", delivered_at, (outcome("o-x"),)),
        ]
    ) == [False, False]

    stored = repository.outbox_row("act-1")
    assert stored is not None
    assert (stored.status, stored.sofie_action_id, stored.attempts) == ("delivered", "sofie-9", 1)
    assert repository.outcomes() == [sent]
    assert [row for _, row in repository.pending_relay(10)] == [sent]
    assert repository.claim_due(T0 + timedelta(days=1), 10, LEASE_S) == []


def test_a_retry_reschedules_and_keeps_a_short_error(repository: InterventionRepository) -> None:
    enqueue_planned(repository, ["act-1"])
    repository.claim_due(T0, 1, LEASE_S)
    retry_at = T0 + timedelta(seconds=5)

    assert repository.settle([Retry("act-1", 1, retry_at, "HTTP 503 " + "x" * 1000)]) == [True]

    stored = repository.outbox_row("act-1")
    assert stored is not None
    assert (stored.status, stored.attempts, stored.next_attempt_at) == ("pending", 1, retry_at)
    assert stored.last_error is not None
    assert stored.last_error.startswith("HTTP 503")
    assert len(stored.last_error) == 500
    assert [r.action_id for r in repository.claim_due(retry_at, 1, LEASE_S)] == ["act-1"]


def test_a_parked_row_is_never_claimed_or_delivered(repository: InterventionRepository) -> None:
    enqueue_planned(repository, ["act-1"])
    repository.claim_due(T0, 1, LEASE_S)

    assert repository.settle([Parked("act-1", 8, "HTTP 422 invalid channel")]) == [True]

    assert repository.claim_due(T0 + timedelta(days=1), 10, LEASE_S) == []
    assert repository.settle([Delivered("act-1", "sofie-1", T0, (outcome("o-1"),))]) == [False]
    assert repository.count_outcomes() == 0
    stored = repository.outbox_row("act-1")
    assert stored is not None
    assert (stored.status, stored.attempts) == ("parked", 8)


def test_a_stale_failure_report_does_not_reopen_a_delivered_row(
    repository: InterventionRepository,
) -> None:
    """Dispatcher A's lease ran out, B delivered; A's late failure must change nothing."""
    enqueue_planned(repository, ["act-1"])
    assert repository.settle([Delivered("act-1", "sofie-1", T0, ())]) == [True]

    late: list[Settlement] = [Retry("act-1", 3, T0, "timeout"), Parked("act-1", 3, "timeout")]
    assert repository.settle(late) == [False, False]

    stored = repository.outbox_row("act-1")
    assert stored is not None
    assert (stored.status, stored.attempts, stored.last_error) == ("delivered", 1, None)


def test_a_dispatch_batch_is_settled_in_one_go_and_only_pending_rows_change(
    repository: InterventionRepository,
) -> None:
    enqueue_planned(repository, ["act-1", "act-2", "act-3", "act-4"])
    assert repository.settle([Delivered("act-4", "sofie-4", T0, ())]) == [True]  # another's
    sent = outcome("o-sent-1", type_="action_sent")
    retry_at = T0 + timedelta(seconds=5)

    settled = repository.settle(
        [
            Delivered("act-1", "sofie-1", T0, (sent,)),
            Retry("act-2", 2, retry_at, "HTTP 503"),
            Parked("act-3", 8, "HTTP 422"),
            Retry("act-4", 3, retry_at, "timeout"),  # late: act-4 was delivered meanwhile
        ]
    )

    assert settled == [True, True, True, False]
    rows = {a: repository.outbox_row(a) for a in ("act-1", "act-2", "act-3", "act-4")}
    assert {a: (r.status, r.attempts) for a, r in rows.items() if r is not None} == {
        "act-1": ("delivered", 1),
        "act-2": ("pending", 2),
        "act-3": ("parked", 8),
        "act-4": ("delivered", 1),
    }
    assert [row for _, row in repository.pending_relay(10)] == [sent]


def test_a_failing_settlement_records_nothing_of_its_batch(
    repository: InterventionRepository,
) -> None:
    enqueue_planned(repository, ["act-1", "act-2"])
    # Not a pseudonym: the outcomes table refuses it.
    bad = OutcomeRow(
        id="o-bad", subject="client-1", type="action_sent", time=T0, arm=None, payload="{}"
    )

    with pytest.raises(sa.exc.IntegrityError):
        repository.settle(
            [
                Delivered("act-1", "sofie-1", T0, (outcome("o-1"),)),
                Delivered("act-2", "sofie-2", T0, (bad,)),
            ]
        )

    assert repository.outbox_stats().pending == 2
    assert repository.count_outcomes() == 0


def test_outbox_stats(repository: InterventionRepository) -> None:
    assert repository.outbox_stats() == OutboxStats(0, 0, 0, None)
    before = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    enqueue_planned(repository, ["act-1", "act-2", "act-3", "act-4"])
    repository.settle([Delivered("act-1", "sofie-1", T0, ()), Parked("act-2", 8, "gone")])

    stats = repository.outbox_stats()

    assert (stats.pending, stats.parked, stats.delivered) == (2, 1, 1)
    assert stats.oldest_pending_created_at is not None
    assert stats.oldest_pending_created_at.tzinfo == UTC
    assert before <= stats.oldest_pending_created_at <= datetime.now(UTC) + timedelta(minutes=5)


# Outcome relay


def test_the_relay_reads_in_commit_order_and_forgets_what_it_published(
    repository: InterventionRepository,
) -> None:
    z, a, m, b = outcome("o-z"), outcome("o-a"), outcome("o-m"), outcome("o-b")
    repository.run(None, lambda tx: tx.insert_outcomes([z, a, m]))
    repository.run(None, lambda tx: tx.insert_outcomes([b]))

    first = repository.pending_relay(2)
    assert [row for _, row in first] == [z, a]
    assert [seq for seq, _ in first] == sorted(seq for seq, _ in first)

    repository.mark_relayed([seq for seq, _ in first])
    repository.mark_relayed([])

    assert [row for _, row in repository.pending_relay(10)] == [m, b]
    assert repository.count_outcomes() == 4  # the outcomes themselves stay


def test_a_relayed_outcome_recorded_again_is_not_queued_again(
    repository: InterventionRepository,
) -> None:
    repository.run(None, lambda tx: tx.insert_outcomes([outcome("o-1")]))
    repository.mark_relayed([seq for seq, _ in repository.pending_relay(10)])

    assert repository.run(None, lambda tx: tx.insert_outcomes([outcome("o-1")])) == (True, 0)
    assert repository.pending_relay(10) == []


def test_relay_sequence_numbers_are_never_reused(repository: InterventionRepository) -> None:
    """Deleting the newest seq must not hand it out again (SQLite: AUTOINCREMENT)."""
    repository.run(None, lambda tx: tx.insert_outcomes([outcome("o-1")]))
    ((published, _),) = repository.pending_relay(10)
    repository.mark_relayed([published])

    repository.run(None, lambda tx: tx.insert_outcomes([outcome("o-2")]))

    ((newer, _),) = repository.pending_relay(10)
    assert newer > published


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.claim_due(T0, 1, LEASE_S),
        lambda r: r.pending_relay(1),
        lambda r: r.run(None, lambda tx: tx.watermarks()),
    ],
    ids=["claim_due", "pending_relay", "run"],
)
def test_an_unreachable_database_raises_operational_error(
    call: Callable[[InterventionRepository], object],
) -> None:
    """Callers retry on OperationalError, so the repository must let it through."""
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/test")  # nothing listens
    try:
        with pytest.raises(sa.exc.OperationalError):
            call(InterventionRepository(engine))
    finally:
        engine.dispose()
