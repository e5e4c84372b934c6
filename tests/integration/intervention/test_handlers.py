"""The intervention handlers on a real database (PostgreSQL and SQLite): what each message
does to the pilot's state, and that doing it twice changes nothing."""

from __future__ import annotations

import functools
import itertools
import json
import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from schemas.actions import Arm
from schemas.codec import decode_outcome
from schemas.enrolments import Enrolment
from schemas.ids import deterministic_id
from schemas.outcomes import FollowupClosed
from schemas.preferences import ContactPreference
from schemas.signals import ArrearsSignal, DayClosed, SignalsMessage
from services.arrears_detector.shell_translate import day_closed_marker
from services.intervention import handlers
from services.intervention.assignment import assign
from services.intervention.playbook import load_playbook
from services.intervention.pseudonym import pseudonymise
from services.intervention.repository import InterventionRepository, Position, Tx
from services.intervention.tables import followups, metadata, signal_observations

STUDY_KEY = "a-study-key-for-the-handler-tests"
EXPERIMENT = "sofie-pilot-test"
ENROLLED_ON = date(2026, 1, 5)
CTX = handlers.Context(
    experiment_key=EXPERIMENT,
    treatment_share=0.375,
    study_key=STUDY_KEY,
    playbook=load_playbook(),
)
_offsets = itertools.count()


def client_in(arm: Arm, segment: str = "collection_struggle", prefix: str = "C") -> str:
    """A client id the salted hash puts in ``arm``."""
    for n in range(1000):
        client = f"{prefix}-{arm}-{n}"
        if assign(EXPERIMENT, client, segment, (f"L-{client}",), 0.375).arm == arm:  # type: ignore[arg-type]
            return client
    raise AssertionError("no client found")


def position(topic: str = "arrears.signals.v1", partition: int = 0) -> Position:
    return Position("intervention-test", topic, partition, next(_offsets))


def enrolment(client: str, segment: str = "collection_struggle", **data: Any) -> Enrolment:
    return Enrolment.model_validate(
        {
            "id": f"{client}:enrolled",
            "source": "bank/pilot-admin",
            "type": "client_enrolled",
            "time": f"{ENROLLED_ON.isoformat()}T00:00:00Z",
            "data": {
                "client_id": client,
                "loan_ids": [f"L-{client}"],
                "segment": segment,
                "enrolment_date": ENROLLED_ON.isoformat(),
            }
            | data,
        }
    )


def signal(client: str, kind: str, day: date, hour: int = 18, dpd: int = 0) -> ArrearsSignal:
    return ArrearsSignal.model_validate(
        {
            "id": f"{client}-{kind}-{day.isoformat()}",
            "source": "nazorg/arrears-detector",
            "type": kind,
            "time": datetime(day.year, day.month, day.day, hour, tzinfo=UTC).isoformat(),
            "data": {
                "loan_id": f"L-{client}",
                "client_id": client,
                "business_date": day.isoformat(),
                "dpd": dpd,
                "past_due_amount": "812.50" if dpd else "0.00",
                "cause_event_ids": ["evt-1"],
            },
        }
    )


@pytest.fixture
def repo(db_engine: Engine) -> InterventionRepository:
    return InterventionRepository(db_engine)


def enrol(repo: InterventionRepository, client: str, **kw: Any) -> str:
    message = enrolment(client, **kw)
    _, result = repo.run(
        position("pilot.enrollments.v1"), lambda tx: handlers.on_enrolment(tx, message, CTX)
    )
    assert result is not None
    return result


def observe(
    repo: InterventionRepository, message: ArrearsSignal, at: Position | None = None
) -> bool:
    applied, _ = repo.run(at or position(), lambda tx: handlers.on_signal(tx, message, CTX))
    return applied


def decided(repo: InterventionRepository, client: str) -> list[Any]:
    """The client's decisions on signals (not the onboarding that enrolment starts)."""
    onboarding = deterministic_id("client_enrolled", EXPERIMENT, client)
    return [d for d in repo.decisions(client) if d.signal_id != onboarding]


def outcomes_of(repo: InterventionRepository, client: str) -> list[Any]:
    subject = pseudonymise(client, STUDY_KEY)
    return [decode_outcome(row.payload) for row in repo.outcomes(subject)]


def test_enrolment_assigns_once_and_refuses_a_change(repo: InterventionRepository) -> None:
    client = client_in("treatment")
    assert enrol(repo, client) == "new"
    assert enrol(repo, client) == "same"
    assert enrol(repo, client, segment="prevention") == "refused"
    [stored] = repo.enrolments()
    assert (stored.arm, stored.segment, stored.intended_allocation) == (
        "treatment",
        "collection_struggle",
        0.375,
    )
    assert [r.reason for r in repo.refusals()] == ["segment_changed"]
    [enrolled] = outcomes_of(repo, client)
    assert enrolled.type == "enrolled"
    assert enrolled.data.arm == "treatment"
    assert enrolled.data.intended_allocation == 0.375
    assert client not in enrolled.model_dump_json()


def test_a_treatment_signal_plans_sofie_actions_through_the_outbox(
    repo: InterventionRepository,
) -> None:
    client = client_in("treatment")
    enrol(repo, client)
    assert observe(repo, signal(client, "arrears_onset", date(2026, 3, 10), hour=10, dpd=9))
    decisions = decided(repo, client)
    assert {(d.channel, d.status) for d in decisions} == {
        ("one_to_one", "planned"),
        ("app", "planned"),
        ("email", "planned"),
    }
    for decision in decisions:
        row = repo.outbox_row(decision.action_id)
        assert row is not None
        assert row.status == "pending"
        body = json.loads(row.request_json)
        assert body["idempotency_key"] == decision.action_id
        assert body["client_ref"] == client
    types = [o.type for o in outcomes_of(repo, client)]
    assert types.count("signal_observed") == 1
    assert "action_sent" not in types  # only once Sofie accepted it


def test_a_control_signal_records_shadows_and_the_bank_process_and_sends_nothing(
    repo: InterventionRepository,
) -> None:
    client = client_in("control")
    enrol(repo, client)
    observe(repo, signal(client, "arrears_onset", date(2026, 3, 10), hour=10, dpd=9))
    decisions = decided(repo, client)
    assert {(d.channel, d.status) for d in decisions} == {
        ("bank_process", "bank_process"),
        ("one_to_one", "shadow"),
        ("app", "shadow"),
        ("email", "shadow"),
    }
    assert all(repo.outbox_row(d.action_id) is None for d in decisions)
    onset = signal(client, "arrears_onset", date(2026, 3, 10), hour=10, dpd=9).id
    shadowed = [
        o
        for o in outcomes_of(repo, client)
        if o.type == "action_shadowed" and o.data.signal_id == onset
    ]
    assert {o.data.channel for o in shadowed} == {"one_to_one", "app", "email"}
    # Enrolment started a year of (shadow) support too: the onboarding.
    onboarding = [o for o in outcomes_of(repo, client) if o.type == "action_shadowed"]
    assert {o.data.action for o in onboarding} >= {"welcome", "payday_buffer", "money_workshop"}


def test_both_arms_get_the_same_decisions_apart_from_sending(repo: InterventionRepository) -> None:
    treated, control = client_in("treatment"), client_in("control")
    for client in (treated, control):
        enrol(repo, client)
        observe(repo, signal(client, "collection_struggle", date(2026, 3, 10), hour=10))
    sofie = {
        client: sorted(
            (d.action, d.channel, d.deliver_after, d.reason)
            for d in decided(repo, client)
            if d.kind == "sofie"
        )
        for client in (treated, control)
    }
    assert sofie[treated] == sofie[control]
    assert sofie[treated]


def test_quiet_hours_defer_the_contact_to_eight_in_amsterdam(repo: InterventionRepository) -> None:
    client = client_in("treatment")
    enrol(repo, client)
    observe(repo, signal(client, "mandate_broken", date(2026, 3, 10), hour=21))  # 22:00 CET
    app = next(d for d in decided(repo, client) if d.channel == "app")
    assert app.status == "planned"
    assert app.deferred_reason == "quiet_hours"
    assert app.deliver_after == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)  # 08:00 CET


def test_the_frequency_cap_holds_across_signals(repo: InterventionRepository) -> None:
    client = client_in("treatment")
    enrol(repo, client)
    observe(repo, signal(client, "arrears_onset", date(2026, 3, 10), hour=10, dpd=9))
    observe(repo, signal(client, "mandate_broken", date(2026, 3, 11), hour=10))
    by_status = {(d.action, d.status, d.reason) for d in decided(repo, client)}
    assert ("pay_another_way", "suppressed", "frequency_cap") in by_status
    suppressed = [o for o in outcomes_of(repo, client) if o.type == "action_suppressed"]
    assert {o.data.reason for o in suppressed} == {"frequency_cap"}


def test_an_opt_out_suppresses_that_channel_only(repo: InterventionRepository) -> None:
    client = client_in("treatment")
    enrol(repo, client)
    preference = ContactPreference.model_validate(
        {
            "id": "pref-1",
            "source": "sofie/app",
            "type": "contact_preference_changed",
            "time": "2026-01-20T12:00:00Z",
            "data": {"client_id": client, "channel": "email", "consent": False},
        }
    )
    repo.run(position("pilot.preferences.v1"), lambda tx: handlers.on_preference(tx, preference))
    observe(repo, signal(client, "mandate_broken", date(2026, 3, 10), hour=10))
    assert {(d.channel, d.status, d.reason) for d in decided(repo, client)} == {
        ("app", "planned", None),
        ("email", "suppressed", "no_consent"),
    }


def test_a_redelivered_signal_changes_nothing(repo: InterventionRepository) -> None:
    client = client_in("treatment")
    enrol(repo, client)
    at = position()
    message = signal(client, "arrears_onset", date(2026, 3, 10), hour=10, dpd=9)
    assert observe(repo, message, at)
    before = (repo.decisions(client), repo.count_outcomes(), repo.outbox_stats())
    assert not observe(repo, message, at)
    # The same signal at another offset (a duplicate upstream) is also absorbed.
    assert observe(repo, message)
    assert (repo.decisions(client), repo.count_outcomes(), repo.outbox_stats()) == before


def test_signals_outside_follow_up_are_observed_but_not_acted_on(
    repo: InterventionRepository,
) -> None:
    client = client_in("treatment")
    observe(repo, signal(client, "arrears_onset", date(2026, 1, 2), dpd=9))  # before enrolment
    enrol(repo, client)
    observe(repo, signal(client, "arrears_cured", date(2027, 2, 1)))  # after the year
    assert decided(repo, client) == []
    assert [o.type for o in outcomes_of(repo, client)].count("signal_observed") == 2


def close_day(repo: InterventionRepository, day: date, partitions: range, total: int = 2) -> int:
    closed = 0
    for p in partitions:
        marker = day_closed_marker(p, total, day.isoformat(), f"{day}T18:00:00Z")
        _, n = repo.run(
            position(partition=p),
            lambda tx, m=marker: handlers.on_day_closed(tx, m, CTX),  # type: ignore[misc]
        )
        closed += n or 0
    return closed


def test_follow_up_closes_when_every_partition_has_passed_its_last_day(
    repo: InterventionRepository,
) -> None:
    client = client_in("control")
    enrol(repo, client)
    observe(repo, signal(client, "arrears_onset", date(2026, 3, 10), dpd=9))
    observe(repo, signal(client, "arrears_cured", date(2026, 3, 20)))
    observe(repo, signal(client, "relapse", date(2026, 6, 10), dpd=7))
    end = ENROLLED_ON + timedelta(days=365)
    assert close_day(repo, end - timedelta(days=1), range(2)) == 0
    # One partition past the end is not enough: the other may still hold signals.
    assert close_day(repo, end, range(1)) == 0
    assert close_day(repo, end, range(1, 2)) == 1
    assert close_day(repo, end + timedelta(days=1), range(2)) == 0  # closed once
    [closed] = [o for o in outcomes_of(repo, client) if isinstance(o, FollowupClosed)]
    assert closed.data.ever_in_arrears
    assert closed.data.first_arrears_date == date(2026, 3, 10)
    assert closed.data.days_to_first_arrears == 64
    assert closed.data.relapse
    assert not closed.data.censored
    assert closed.data.followup_days == 365


def test_markers_committing_concurrently_still_close_the_follow_up(
    repo: InterventionRepository,
) -> None:
    """Two workers close the last day of the year for their partitions in overlapping
    transactions. Under READ COMMITTED each could miss the other's watermark (write skew) and
    the follow-up would never close; the one committing second must see the first."""
    client = client_in("control")
    enrol(repo, client)
    end = (ENROLLED_ON + timedelta(days=365)).isoformat()
    markers = [day_closed_marker(p, 2, end, f"{end}T18:00:00Z") for p in range(2)]
    first_read = threading.Event()
    second_done = threading.Event()
    first_closed: list[int] = []

    def first(tx: Tx) -> None:
        first_closed.append(handlers.on_day_closed(tx, markers[0], CTX))
        first_read.set()
        second_done.wait(1.0)  # without a lock the second commits meanwhile

    worker = threading.Thread(target=repo.run, args=(position(partition=0), first))
    worker.start()
    assert first_read.wait(10)
    _, second_closed = repo.run(
        position(partition=1), lambda tx: handlers.on_day_closed(tx, markers[1], CTX)
    )
    second_done.set()
    worker.join(10)
    assert first_closed == [0]  # partition 1 had not reached the end when it looked
    assert second_closed == 1
    assert [type(o) for o in outcomes_of(repo, client)].count(FollowupClosed) == 1


def test_a_pilot_end_censors_open_follow_ups(repo: InterventionRepository) -> None:
    client = client_in("treatment")
    enrol(repo, client)
    ctx = handlers.Context(
        experiment_key=EXPERIMENT,
        treatment_share=0.375,
        study_key=STUDY_KEY,
        playbook=CTX.playbook,
        pilot_end_date=date(2026, 9, 30),
    )
    marker = day_closed_marker(0, 1, "2026-09-30", "2026-09-30T18:00:00Z")
    _, closed = repo.run(position(), lambda tx: handlers.on_day_closed(tx, marker, ctx))
    assert closed == 1
    [result] = [o for o in outcomes_of(repo, client) if isinstance(o, FollowupClosed)]
    assert result.data.censored
    assert result.data.followup_days == (date(2026, 9, 30) - ENROLLED_ON).days
    assert not result.data.ever_in_arrears


def test_a_signal_consumed_before_its_enrolment_is_decided_when_the_enrolment_arrives(
    repo: InterventionRepository,
) -> None:
    late, on_time = client_in("treatment"), client_in("treatment", "prevention", prefix="D")
    early_signal = signal(late, "arrears_onset", date(2026, 3, 10), hour=10, dpd=9)
    observe(repo, early_signal)  # the enrolment topic lags behind the signals topic
    assert repo.decisions(late) == []
    enrol(repo, late)
    enrol(repo, on_time, segment="prevention")
    observe(repo, signal(on_time, "arrears_onset", date(2026, 3, 10), hour=10, dpd=9))

    def shape(client: str) -> list[tuple[object, ...]]:
        return sorted(
            (d.action, d.channel, d.status, d.deliver_after) for d in decided(repo, client)
        )

    assert shape(late) == shape(on_time)
    assert len(shape(late)) == 3
    assert enrol(repo, late) == "same"
    assert len(decided(repo, late)) == 3  # the catch-up ran once


def _state(repo: InterventionRepository, engine: Engine) -> dict[str, Any]:
    """Everything the signal handlers write, in the order it was written where that matters
    (the relay publishes in ``seq`` order)."""
    with engine.connect() as connection:
        observations = connection.execute(
            sa.select(signal_observations).order_by(signal_observations.c.signal_id)
        ).all()
        followed = connection.execute(sa.select(followups).order_by(followups.c.client_id)).all()
    return {
        "relay": [row.id for _, row in repo.pending_relay(100_000)],
        "outcomes": [(row.id, row.payload) for row in repo.outcomes()],
        "decisions": repo.decisions(),
        "observations": observations,
        "followups": followed,
    }


def _wipe(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())


def test_a_batch_of_signals_and_markers_does_what_they_do_one_by_one(
    repo: InterventionRepository, db_engine: Engine
) -> None:
    """Enrolled clients of both arms and clients outside the pilot, a signal delivered twice
    (once within the batch), and a day-closed marker that ends the pilot between signals: one
    batch writes exactly the rows, and queues exactly the outcomes in the same order, as the
    messages one at a time."""
    ctx = replace(CTX, pilot_end_date=date(2026, 2, 16))
    treated, control = client_in("treatment"), client_in("control")
    outside = ["N-1", "N-2"]
    day = date(2026, 2, 2)
    first = signal(treated, "instalment_missed", day, dpd=1)
    messages: list[SignalsMessage] = [
        first,
        signal(outside[0], "instalment_missed", day, dpd=1),
        signal(control, "instalment_missed", day, dpd=1),
        signal(outside[1], "direct_debit_failed", day),
        first,
        signal(treated, "arrears_onset", day + timedelta(days=7), dpd=8),
        signal(outside[0], "arrears_onset", day + timedelta(days=7), dpd=8),
        day_closed_marker(0, 1, "2026-02-16", "2026-02-16T18:00:00Z"),
        signal(control, "arrears_onset", day + timedelta(days=15), dpd=16),
        signal(treated, "arrears_escalated", day + timedelta(days=16), dpd=31),
        first,
    ]

    def enrol_both() -> None:
        for client in (treated, control):
            message = enrolment(client)
            repo.run(
                position("pilot.enrollments.v1"),
                lambda tx, m=message: handlers.on_enrolment(tx, m, ctx),  # type: ignore[misc]
            )

    def one(tx: Tx, message: SignalsMessage) -> None:
        if isinstance(message, DayClosed):
            handlers.on_day_closed(tx, message, ctx)
        else:
            handlers.on_signal(tx, message, ctx)

    enrol_both()
    for message in messages:
        repo.run(position(), lambda tx, m=message: one(tx, m))  # type: ignore[misc]
    alone = _state(repo, db_engine)
    _wipe(db_engine)
    enrol_both()
    items = [(position(), message) for message in messages]
    claimed = repo.run_batch(
        items, lambda tx, ms: handlers.on_signal_messages(tx, ms, ctx), Tx.lock_watermarks
    )

    assert claimed == [True] * len(messages)
    assert _state(repo, db_engine) == alone
    assert len(alone["decisions"]) > 2  # both arms decided on signals, not a trivial run
    assert len(alone["followups"]) == 2
    assert len(alone["observations"]) == len({m.id for m in messages}) - 1  # not the marker


def test_a_batch_of_enrolments_does_what_they_do_one_by_one(
    repo: InterventionRepository, db_engine: Engine
) -> None:
    """Clients enrolled after their first signals (caught up), an enrolment delivered twice
    and a refused change, in one batch: the same rows and relay order as one at a time."""
    treated, control = client_in("treatment", prefix="B"), client_in("control", prefix="B")
    day = date(2026, 2, 2)
    signals = [signal(c, "instalment_missed", day, dpd=1) for c in (treated, control)]
    messages = [
        enrolment(treated),
        enrolment(control),
        enrolment(treated),
        enrolment(control, segment="prevention"),
    ]

    def observe_all() -> None:
        for s in signals:
            observe(repo, s)

    observe_all()

    def enrol_one(message: Enrolment) -> str | None:
        work = functools.partial(handlers.on_enrolment, message=message, ctx=CTX)
        return repo.run(position("pilot.enrollments.v1"), work)[1]

    alone = [enrol_one(m) for m in messages]
    state = _state(repo, db_engine)
    _wipe(db_engine)
    observe_all()
    results: list[list[str]] = []
    repo.run_batch(
        [(position("pilot.enrollments.v1"), m) for m in messages],
        lambda tx, ms: results.append(handlers.on_enrolments(tx, ms, CTX)),
    )

    assert alone == ["new", "new", "same", "refused"]
    assert results == [alone]
    assert _state(repo, db_engine) == state
    assert [r.reason for r in repo.refusals()] == ["segment_changed"]
    assert len(state["decisions"]) > 2  # the caught-up signals were decided on
