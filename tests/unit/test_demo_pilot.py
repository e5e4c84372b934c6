"""The demo's own logic: the month barrier, the probe of the intervention's store, the dates."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from services.common.db import make_engine, upgrade
from services.demo import enrolments_by_month, followups_closed, last_close, last_tick
from services.demo_pipeline import (
    Ingest,
    PilotError,
    Probe,
    Progress,
    processed_through,
    wait_until,
)
from services.intervention.repository import (
    DecisionRow,
    EnrolmentRow,
    InterventionRepository,
    OutboxRow,
    Tx,
)
from services.simulator import SimulationConfig, generate_cohort, simulate

DONE = Progress(
    watermark=date(2026, 10, 30),
    pending_actions=3,
    pending_due=0,
    parked_actions=0,
    delivered_actions=10,
    enrolled=5,
    closed=0,
)


def test_a_month_is_done_when_enrolments_watermark_and_due_actions_are_through() -> None:
    check = processed_through(date(2026, 10, 30), 5, drain_outbox=True)
    assert check(DONE) is None
    assert check(replace(DONE, enrolled=4)) == "4/5 enrolments stored"
    assert check(replace(DONE, watermark=None)) == "detector watermark None < 2026-10-30"
    assert "2026-10-29" in str(check(replace(DONE, watermark=date(2026, 10, 29))))
    assert check(replace(DONE, pending_due=2)) == "2 due actions still in the outbox"


def test_with_delivery_broken_the_outbox_is_not_waited_for() -> None:
    check = processed_through(date(2026, 10, 30), 5, drain_outbox=False)
    assert check(replace(DONE, pending_due=40)) is None


def test_the_end_is_every_follow_up_closed() -> None:
    check = followups_closed(5)
    assert check(replace(DONE, closed=5)) is None
    assert check(replace(DONE, closed=4)) == "4/5 follow-ups closed (watermark 2026-10-30)"


def test_wait_until_polls_and_gives_up_with_what_is_missing() -> None:
    answers = iter(["not yet", "still not", None])
    wait_until(lambda: next(answers), timeout_s=5, poll_s=0)
    with pytest.raises(PilotError, match="gave up after 0s: never"):
        wait_until(lambda: "never", timeout_s=0, poll_s=0)


def test_the_pilot_ends_at_the_simulators_last_close() -> None:
    config = SimulationConfig(clients=5, seed=1)
    assert last_tick(config) == config.horizon_end == date(2027, 11, 24)
    saturday = replace(config, horizon_days=config.horizon_days + 3)  # ends Sat 27 Nov 2027
    assert last_tick(saturday) == date(2027, 11, 26)
    batches = list(simulate(config))
    assert last_close(batches[-1].events) == last_tick(config)
    assert last_close(batches[0].events) == date(2026, 10, 30)
    assert last_close([]) is None


def test_enrolments_go_out_in_the_month_of_enrolment() -> None:
    cohort = generate_cohort(SimulationConfig(clients=40, seed=1))
    by_month = enrolments_by_month(cohort)
    assert set(by_month) == {date(2026, 10, 1), date(2026, 11, 1)}
    assert sum(map(len, by_month.values())) == 40
    for month, messages in by_month.items():
        for message in messages:
            enrolled = date.fromisoformat(message["data"]["enrolment_date"])
            assert enrolled.replace(day=1) == month


def decision(action_id: str, deliver_after: datetime) -> DecisionRow:
    return DecisionRow(
        action_id=action_id,
        client_id="C1",
        arm="treatment",
        signal_id="sig",
        channel="app",
        action="welcome",
        lever=None,
        message="m",
        kind="sofie",
        status="planned",
        reason=None,
        deferred_reason=None,
        deliver_after=deliver_after,
        playbook_version="v",
        decided_at=deliver_after,
    )


def test_the_probe_reads_the_intervention_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nazorg.db'}"
    engine = make_engine(url)
    upgrade(engine)
    repository = InterventionRepository(engine)
    october, december = datetime(2026, 10, 5, 7, tzinfo=UTC), datetime(2026, 12, 2, 7, tzinfo=UTC)
    enrolment = EnrolmentRow(
        client_id="C1",
        loan_ids=("L1",),
        segment="prevention",
        enrolment_date=date(2026, 10, 5),
        experiment_key="exp",
        arm="treatment",
        intended_allocation=0.375,
        assignment_version="v1",
        assigned_at=october,
    )

    def write(tx: Tx) -> None:
        tx.insert_enrolment(enrolment)
        rows = [decision("a-oct", october), decision("a-dec", december)]
        tx.insert_decisions(rows)
        body = json.dumps({"id": "x"})
        tx.enqueue([OutboxRow(r.action_id, body, "pending", 0, october, None, None) for r in rows])
        tx.advance_watermark(0, date(2026, 10, 30))

    repository.run(None, write)
    probe = Probe(url, None, partitions=2)
    try:
        first = probe.read(datetime(2026, 11, 1, tzinfo=UTC))
        assert (first.watermark, first.enrolled, first.closed) == (None, 1, 0)
        assert (first.pending_actions, first.pending_due) == (2, 1)
        assert probe.read().pending_due == 2  # asked about no instant: every pending one

        repository.run(None, lambda tx: tx.advance_watermark(1, date(2026, 10, 29)))
        assert probe.read().watermark == date(2026, 10, 29)  # the slowest partition
        assert probe.arms() == {"C1": "treatment"}
    finally:
        probe.close()
        engine.dispose()


def answer(accepted: int, duplicate: int = 0, rejected: int = 0) -> httpx.Response:
    counts = {"accepted": accepted, "duplicate": duplicate, "rejected": rejected}
    return httpx.Response(200, json={"received": sum(counts.values()), **counts})


def ingest(*responses: httpx.Response | Exception) -> tuple[Ingest, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    client = Ingest("http://ingest.test", "token", transport=httpx.MockTransport(handle))
    client.retry_pause_s = 0
    return client, seen


def test_a_batch_is_posted_with_the_token_and_must_be_accepted_whole() -> None:
    client, seen = ingest(answer(3))
    assert client.post(b"[]")["accepted"] == 3
    assert seen[0].headers["Authorization"] == "Bearer token"
    assert seen[0].url.path == "/v1/events"
    for bad in (answer(2, rejected=1), answer(2, duplicate=1)):
        client, _ = ingest(bad)
        with pytest.raises(PilotError, match="did not accept the whole batch"):
            client.post(b"[]")


def test_a_batch_is_sent_again_after_a_503_or_a_lost_answer() -> None:
    unavailable = httpx.Response(503, json={"error": "broker_unavailable"})
    lost = httpx.ReadTimeout("lost")
    client, seen = ingest(unavailable, lost, answer(1, duplicate=2))
    assert client.post(b"[]")["duplicate"] == 2  # what the lost attempt got through
    assert len(seen) == 3
    client, _ = ingest(*[unavailable] * 5)
    with pytest.raises(PilotError, match="after 5 tries: 503"):
        client.post(b"[]")
    client, _ = ingest(httpx.Response(401, json={"error": "unauthorized"}))
    with pytest.raises(PilotError, match="answered 401"):
        client.post(b"[]")
