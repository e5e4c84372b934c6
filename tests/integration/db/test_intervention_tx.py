"""Contract tests for ``InterventionRepository.run`` and ``Tx`` on PostgreSQL and SQLite."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from services.intervention.repository import (
    ContactRow,
    InterventionRepository,
    ObservationRow,
    RefusalRow,
    Tx,
)

from .helpers import T0, outcome, position
from .intervention_builders import ENROLLED_ON, decision, enrolment, pending

pytestmark = pytest.mark.integration

CONSUMER, TOPIC = "intervention", "arrears.signals.v1"


@pytest.fixture
def repository(db_engine: Engine) -> InterventionRepository:
    return InterventionRepository(db_engine)


# run: the position claim


def test_run_claims_the_position_then_runs_the_work(repository: InterventionRepository) -> None:
    calls: list[str] = []

    def work(tx: Tx) -> str:
        calls.append("first")
        return "done" if tx.insert_enrolment(enrolment()) else "not new"

    assert repository.run(position(1), work) == (True, "done")
    assert calls == ["first"]
    assert repository.last_offset(CONSUMER, TOPIC, 0) == 1
    assert repository.enrolments() == [enrolment()]


@pytest.mark.parametrize("replayed_offset", [1, 0])
def test_run_with_a_claimed_position_runs_nothing(
    repository: InterventionRepository, replayed_offset: int
) -> None:
    assert repository.run(position(1), lambda tx: None) == (True, None)
    calls: list[int] = []

    result = repository.run(position(replayed_offset), lambda tx: calls.append(1))

    assert result == (False, None)
    assert calls == []


def test_run_without_a_position_always_runs(repository: InterventionRepository) -> None:
    assert repository.run(None, lambda tx: 1) == (True, 1)
    assert repository.run(None, lambda tx: 2) == (True, 2)
    assert repository.last_offset(CONSUMER, TOPIC, 0) is None


def test_failing_work_commits_neither_its_writes_nor_the_position(
    repository: InterventionRepository,
) -> None:
    def work(tx: Tx) -> None:
        tx.insert_enrolment(enrolment())
        raise RuntimeError("handler bug")

    with pytest.raises(RuntimeError, match="handler bug"):
        repository.run(position(1), work)

    assert repository.last_offset(CONSUMER, TOPIC, 0) is None
    assert repository.enrolments() == []
    assert repository.run(position(1), lambda tx: tx.insert_enrolment(enrolment())) == (True, True)


def test_a_tx_is_unusable_after_its_run(repository: InterventionRepository) -> None:
    _, leaked = repository.run(None, lambda tx: tx)
    assert leaked is not None
    with pytest.raises(RuntimeError, match="outside its"):
        leaked.get_enrolment("client-1")


def test_record_is_run_with_outcomes_and_queues_them_for_the_relay(
    repository: InterventionRepository,
) -> None:
    assert repository.record(position(1), [outcome("o-1")])
    assert not repository.record(position(1), [outcome("o-2")])

    assert [row.id for _, row in repository.pending_relay(10)] == ["o-1"]


# Enrolment


def test_an_enrolment_round_trips_and_the_first_one_wins(
    repository: InterventionRepository,
) -> None:
    first = enrolment()

    assert repository.run(None, lambda tx: tx.insert_enrolment(first)) == (True, True)
    assert repository.run(None, lambda tx: tx.insert_enrolment(enrolment(arm="control"))) == (
        True,
        False,
    )

    assert repository.run(None, lambda tx: tx.get_enrolment("client-1")) == (True, first)
    assert repository.run(None, lambda tx: tx.get_enrolment("nobody")) == (True, None)
    assert repository.enrolments() == [first]
    assert isinstance(repository.enrolments()[0].loan_ids, tuple)


def test_an_allocation_is_stored_with_five_decimals_on_both_backends(
    repository: InterventionRepository,
) -> None:
    repository.run(None, lambda tx: tx.insert_enrolment(enrolment(intended_allocation=1 / 3)))
    assert repository.enrolments()[0].intended_allocation == 0.33333


def test_refusals_are_audited_in_order(repository: InterventionRepository) -> None:
    refusals = [
        RefusalRow("client-1", "sofie-pilot-2026", "arm_change", '{"arm": "control"}', T0),
        RefusalRow(
            "client-1", "sofie-pilot-2026", "segment_change", '{"segment":  "x"}', T0 + timedelta(1)
        ),
    ]

    def work(tx: Tx) -> None:
        for refusal in refusals:
            tx.insert_refusal(refusal)

    repository.run(None, work)

    assert repository.refusals() == refusals  # requested JSON byte for byte


# Consent


def test_consent_follows_event_time_not_arrival(repository: InterventionRepository) -> None:
    def set_consent(consent: bool, hours: int) -> bool:
        at = T0 + timedelta(hours=hours)
        _, applied = repository.run(None, lambda tx: tx.set_consent("client-1", "app", consent, at))
        assert applied is not None
        return applied

    assert set_consent(False, hours=2)
    assert not set_consent(True, hours=1)  # older, delivered late: ignored
    assert repository.run(None, lambda tx: tx.consents("client-1")) == (True, {"app": False})
    assert set_consent(True, hours=2)  # same instant: the later-processed one wins
    assert repository.run(None, lambda tx: tx.consents("client-1")) == (True, {"app": True})
    assert set_consent(False, hours=3)

    def both(tx: Tx) -> dict[str, bool]:
        tx.set_consent("client-1", "email", True, T0)
        return tx.consents("client-1")

    assert repository.run(None, both) == (True, {"app": False, "email": True})
    assert repository.run(None, lambda tx: tx.consents("client-2")) == (True, {})


# Observations


def test_observations_are_idempotent_and_ordered(repository: InterventionRepository) -> None:
    def seen(signal_id: str, day: int, dpd: int) -> ObservationRow:
        return ObservationRow(
            signal_id, "client-1", "loan-1", "arrears_onset", date(2026, 4, day), dpd, T0
        )

    rows = [seen("sig-b", 2, 5), seen("sig-c", 1, 1), seen("sig-a", 2, 5)]

    def work(tx: Tx) -> list[bool]:
        return [tx.insert_observation(row) for row in [*rows, rows[0]]]

    assert repository.run(None, work) == (True, [True, True, True, False])
    _, stored = repository.run(None, lambda tx: tx.observations("client-1"))
    assert stored == [rows[1], rows[2], rows[0]]


def test_a_negative_dpd_is_refused(repository: InterventionRepository) -> None:
    row = ObservationRow("sig-1", "client-1", "loan-1", "arrears_onset", ENROLLED_ON, -1, T0)
    with pytest.raises(sa.exc.IntegrityError):
        repository.run(None, lambda tx: tx.insert_observation(row))


# Decisions and contacts


def test_decisions_are_inserted_once(repository: InterventionRepository) -> None:
    a, b = decision("act-a"), decision("act-b", decided_at=T0 + timedelta(minutes=1))
    changed = decision("act-a", status="suppressed", reason="frequency_cap", deliver_after=None)

    assert repository.run(None, lambda tx: tx.insert_decisions([a, b])) == (True, 2)
    assert repository.run(None, lambda tx: tx.insert_decisions([changed, b])) == (True, 0)
    assert repository.run(None, lambda tx: tx.insert_decisions([])) == (True, 0)

    assert repository.decisions() == [a, b]
    assert repository.decisions("client-1") == [a, b]
    assert repository.decisions("client-2") == []
    assert repository.decisions_by_action(["act-a", "act-z"]) == {"act-a": a}
    assert repository.decisions_by_action([]) == {}


def test_contacts_count_planned_and_shadow_sofie_decisions_by_delivery_time(
    repository: InterventionRepository,
) -> None:
    hour = timedelta(hours=1)
    rows = [
        decision("later", deliver_after=T0 + 2 * hour, channel="email"),
        decision("shadow", arm="control", status="shadow", deliver_after=T0 + hour),
        decision("deferred", deliver_after=T0 + 3 * hour, deferred_reason="quiet_hours"),
        decision("first", deliver_after=T0),
        decision("suppressed", status="suppressed", reason="opted_out", deliver_after=None),
        decision("bank", kind="bank_process", status="bank_process", channel="bank_process"),
        decision("other-client", client="client-2"),
    ]
    repository.run(None, lambda tx: tx.insert_decisions(rows))

    _, contacts = repository.run(None, lambda tx: tx.contacts("client-1"))

    assert contacts == [
        ContactRow(T0, "app", "payment_reminder"),
        ContactRow(T0 + hour, "app", "payment_reminder"),
        ContactRow(T0 + 2 * hour, "email", "payment_reminder"),
        ContactRow(T0 + 3 * hour, "app", "payment_reminder"),
    ]


@pytest.mark.parametrize(
    "overrides",
    [
        {"status": "suppressed", "reason": None, "deliver_after": None},
        {"status": "planned", "deliver_after": None},
        {"status": "deferred"},
        {"kind": "email"},
        {"arm": "placebo"},
    ],
)
def test_inconsistent_decisions_are_refused(
    repository: InterventionRepository, overrides: dict[str, Any]
) -> None:
    row = decision("act-1", **overrides)
    with pytest.raises(sa.exc.IntegrityError):
        repository.run(None, lambda tx: tx.insert_decisions([row]))


# Outbox enqueue


def test_outbox_rows_are_enqueued_once_with_their_decision(
    repository: InterventionRepository,
) -> None:
    def work(tx: Tx) -> tuple[int, int]:
        tx.insert_decisions([decision("act-1"), decision("act-2")])
        return tx.enqueue([pending("act-1")]), tx.enqueue([pending("act-1"), pending("act-2")])

    assert repository.run(None, work) == (True, (1, 1))
    assert repository.outbox_row("act-1") == pending("act-1")
    assert repository.outbox_row("nope") is None


def test_an_outbox_row_needs_its_decision(repository: InterventionRepository) -> None:
    with pytest.raises(sa.exc.IntegrityError):
        repository.run(None, lambda tx: tx.enqueue([pending("act-1")]))


# Outcomes and the relay queue


def test_only_new_outcomes_are_queued_for_the_relay(repository: InterventionRepository) -> None:
    a, b, c = outcome("o-a"), outcome("o-b"), outcome("o-c")

    assert repository.run(None, lambda tx: tx.insert_outcomes([a, b, a])) == (True, 2)
    assert repository.run(None, lambda tx: tx.insert_outcomes([b, c])) == (True, 1)

    assert [row for _, row in repository.pending_relay(10)] == [a, b, c]
    assert repository.count_outcomes() == 3


# Watermarks


def test_watermarks_only_advance(repository: InterventionRepository) -> None:
    d1, d2, d3 = date(2026, 4, 1), date(2026, 4, 2), date(2026, 4, 3)

    def work(tx: Tx) -> list[bool]:
        return [
            tx.advance_watermark(0, d2),
            tx.advance_watermark(0, d1),
            tx.advance_watermark(0, d2),
            tx.advance_watermark(0, d3),
            tx.advance_watermark(1, d1),
        ]

    assert repository.run(None, work) == (True, [True, False, False, True, True])
    assert repository.run(None, lambda tx: tx.watermarks()) == (True, {0: d3, 1: d1})


# Follow-up


def test_a_followup_opens_exactly_365_days_after_enrolment(
    repository: InterventionRepository,
) -> None:
    early = enrolment("client-early", enrolment_date=ENROLLED_ON - timedelta(days=1))
    exact = enrolment("client-exact")
    late = enrolment("client-late", enrolment_date=ENROLLED_ON + timedelta(days=1))
    one_year = ENROLLED_ON + timedelta(days=365)

    def work(tx: Tx) -> None:
        for row in (late, exact, early):
            tx.insert_enrolment(row)

    repository.run(None, work)

    def due(on: date, period_days: int = 365) -> list[str]:
        _, rows = repository.run(None, lambda tx: tx.open_followups(on, period_days))
        assert rows is not None
        return [row.client_id for row in rows]

    assert due(one_year - timedelta(days=1)) == ["client-early"]
    assert due(one_year) == ["client-early", "client-exact"]
    assert due(ENROLLED_ON + timedelta(days=30), period_days=30) == ["client-early", "client-exact"]


def test_a_closed_followup_is_no_longer_open(repository: InterventionRepository) -> None:
    def enrol(tx: Tx) -> None:
        tx.insert_enrolment(enrolment("client-1"))
        tx.insert_enrolment(enrolment("client-2"))

    repository.run(None, enrol)
    closed_on = ENROLLED_ON + timedelta(days=365)

    def close(tx: Tx) -> list[bool]:
        return [
            tx.close_followup("client-1", closed_on, False, "o-closed-1"),
            tx.close_followup("client-1", closed_on, True, "o-closed-1b"),
        ]

    assert repository.run(None, close) == (True, [True, False])
    _, open_now = repository.run(None, lambda tx: tx.open_followups(closed_on))
    _, still_open = repository.run(None, lambda tx: tx.open_enrolments())
    assert [row.client_id for row in open_now or []] == ["client-2"]
    assert [row.client_id for row in still_open or []] == ["client-2"]


def test_only_an_enrolled_client_can_be_closed(repository: InterventionRepository) -> None:
    with pytest.raises(sa.exc.IntegrityError):
        repository.run(None, lambda tx: tx.close_followup("nobody", ENROLLED_ON, True, "o-1"))


# Per-client serialisation


def test_transactions_that_lock_the_same_client_run_one_after_the_other(
    repository: InterventionRepository,
) -> None:
    events: list[str] = []
    first_holds = threading.Event()

    def first(tx: Tx) -> None:
        tx.lock_client("client-1")
        first_holds.set()
        time.sleep(0.5)
        events.append("first done")

    def second(tx: Tx) -> None:
        tx.lock_client("client-1")
        events.append("second locked")

    def other(tx: Tx) -> None:
        tx.lock_client("client-2")
        events.append("other locked")

    thread = threading.Thread(target=repository.run, args=(None, first))
    thread.start()
    assert first_holds.wait(5)
    repository.run(None, other)
    repository.run(None, second)
    thread.join(5)
    assert events.index("first done") < events.index("second locked")
    if repository_dialect(repository) == "postgresql":
        assert events[0] == "other locked"  # the lock is per client, not per database
    # (SQLite serialises every writing transaction, so there "other" waits too.)


def repository_dialect(repository: InterventionRepository) -> str:
    return repository._engine.dialect.name
