"""The intervention worker as a process, against the real broker, PostgreSQL and the dev Sofie
server: every planned action reaches Sofie exactly once, whatever fails in between."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from schemas.codec import decode_dead_letter, decode_outcome
from services.common.kafka import read_topic

from .harness import ENROLLED_ON, Pilot, cohort, pilot, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

CLIENTS = cohort(size=24, treatment=9)
ONBOARDING = 5  # welcome (app, e-mail), intake call, payday buffer, workshop (playbook-v1)
ACTIONS_PER_ONSET = 3  # coach call, app and e-mail invitations
PER_CLIENT = ONBOARDING + ACTIONS_PER_ONSET


def assert_delivered_exactly_once(harness: Pilot) -> None:
    planned = harness.planned_ids()
    assert len(planned) == 9 * PER_CLIENT
    received = harness.received()
    keys = Counter(r["idempotency_key"] for r in received)
    assert set(keys) == planned, "Sofie holds exactly the planned actions"
    assert max(keys.values()) == 1, "no action was performed twice"
    sent = [t for t in harness.outcome_types() if t == "action_sent"]
    assert len(sent) == len(planned)


def test_failures_at_sofie_delay_delivery_but_lose_and_double_nothing(
    kafka_bootstrap: str, pg_url: str, tmp_path: Path
) -> None:
    with pilot(kafka_bootstrap, pg_url, tmp_path) as harness:
        harness.set_fault("error_500")
        harness.start_worker()
        harness.enrol(CLIENTS)
        harness.signal_onsets(CLIENTS)
        wait_until(
            lambda: len(harness.planned_ids()) == 9 * PER_CLIENT,
            60,
            "all decisions",
            harness.state,
        )
        wait_until(
            lambda: harness.sofie_get("/_dev/stats")["faults_injected"] >= 5, 30, "failed tries"
        )
        harness.set_fault("timeout")  # requests hang beyond the client's 1 s timeout
        time.sleep(4)
        assert harness.received() == []
        assert harness.repository.outbox_stats().pending == len(harness.planned_ids())
        # Then Sofie is gone altogether: every connection refused.
        assert harness.sofie is not None
        harness.sofie.stop()
        time.sleep(4)
        assert harness.repository.outbox_stats().pending == len(harness.planned_ids())
        assert harness.workers[0].alive()
        harness.start_sofie()  # back on its port, healthy (a fresh dev server)
        wait_until(harness.all_delivered, 90, "every action delivered after recovery")
        assert_delivered_exactly_once(harness)

        # Sofie reports engagement to our webhook: at least "delivered" for every action.
        wait_until(
            lambda: harness.outcome_types().count("engagement") >= len(harness.planned_ids()),
            60,
            "engagement callbacks",
            harness.state,
        )
        assert harness.sofie_get("/_dev/stats")["callbacks_failed"] == 0

        # Control clients: shadows recorded, nothing sent; both arms observed the same way.
        types = Counter(harness.outcome_types())
        assert types["enrolled"] == len(CLIENTS)
        assert types["signal_observed"] == len(CLIENTS)
        assert types["action_shadowed"] == 15 * PER_CLIENT

        # A year later every follow-up closes, once, in event time.
        harness.close_days(ENROLLED_ON + timedelta(days=365))
        wait_until(
            lambda: harness.outcome_types().count("followup_closed") == len(CLIENTS),
            60,
            "follow-ups closed",
        )

        # Everything in SQL reaches outcomes.v1 (the relay), under pseudonyms only.
        settings = harness.stack.client_settings()
        wait_until(
            lambda: (
                len(
                    {
                        decode_outcome(r.value).id
                        for r in read_topic(settings, settings.topic_outcomes)
                    }
                )
                == harness.repository.count_outcomes()
            ),
            60,
            "the relay to publish every outcome",
        )
        for record in read_topic(settings, settings.topic_outcomes):
            assert not any(client.encode() in record.value for client in CLIENTS)

        # Re-consuming the whole signal topic under a new consumer group sends nothing new.
        before = (harness.repository.count_outcomes(), harness.sofie_get("/_dev/stats"))
        harness.workers[0].stop()
        replayer = harness.start_worker(
            "replayer", NAZORG_INTERVENTION_APP_ID=f"{harness.stack.namespace}-replayer"
        )
        wait_until(
            lambda: (
                (
                    harness.repository.last_offset(
                        f"{harness.stack.namespace}-replayer", settings.topic_signals, 0
                    )
                    or -1
                )
                >= 0
            ),
            60,
            "the replaying worker to catch up",
        )
        time.sleep(3)
        assert replayer.alive()
        after_stats = harness.sofie_get("/_dev/stats")
        assert harness.repository.count_outcomes() == before[0]
        assert after_stats["accepted"] == before[1]["accepted"]
        assert_delivered_exactly_once(harness)


def test_a_worker_killed_between_decision_and_delivery_loses_and_doubles_nothing(
    kafka_bootstrap: str, pg_url: str, tmp_path: Path
) -> None:
    with pilot(kafka_bootstrap, pg_url, tmp_path) as harness:
        # Sofie performs each action but answers late: the worker dies not knowing.
        harness.set_fault("latency", latency_s=3.0)
        worker = harness.start_worker()
        harness.enrol(CLIENTS)
        harness.signal_onsets(CLIENTS)
        wait_until(lambda: len(harness.received()) >= 1, 60, "Sofie to receive an action")
        worker.kill()
        delivered_before_restart = harness.repository.outbox_stats().delivered
        assert delivered_before_restart < len(harness.planned_ids())
        harness.set_fault("none")
        harness.workers.clear()
        harness.start_worker("intervention-restarted")
        # Signals are stored in batches: the killed worker may have left some for the new one.
        wait_until(
            lambda: len(harness.planned_ids()) == 9 * PER_CLIENT and harness.all_delivered(),
            120,
            "every action planned and delivered after the restart",
        )
        assert_delivered_exactly_once(harness)
        repeats = [r for r in harness.received() if r["requests"] > 1]
        assert repeats, "the restarted worker re-sent what was in flight, and Sofie deduped it"


def test_a_postgresql_restart_under_load_loses_no_outcome(
    kafka_bootstrap: str, pg_url: str, tmp_path: Path
) -> None:
    with pilot(kafka_bootstrap, pg_url, tmp_path) as harness:
        harness.start_worker()
        settings = harness.stack.client_settings()
        bad = [b"not json at all", b'{"type": "client_enrolled", "data": {"segment": "vip"}}']
        harness.publish(settings.topic_enrolments, [(b"k", raw, None) for raw in bad])
        harness.enrol(CLIENTS)
        harness.signal_onsets(CLIENTS[:12])
        subprocess.run(["pg_ctlcluster", "15", "main", "restart"], check=True, timeout=60)
        harness.signal_onsets(CLIENTS[12:])
        wait_until(
            lambda: _safe(lambda: harness.outcome_types().count("signal_observed")) == len(CLIENTS),
            120,
            "every signal observed after the restart",
        )
        wait_until(
            lambda: len(harness.planned_ids()) == 9 * PER_CLIENT and harness.all_delivered(),
            120,
            "every action planned and delivered",
        )
        assert_delivered_exactly_once(harness)
        assert harness.workers[0].alive()

        # The bad enrolments were dead-lettered with their bytes and reasons, not dropped.
        letters = [decode_dead_letter(r.value) for r in read_topic(settings, settings.topic_dlq)]
        assert sorted(letter.data.payload_bytes() for letter in letters) == sorted(bad)
        assert {letter.data.reason for letter in letters} == {"invalid_json", "schema_violation"}
        assert {letter.data.source_topic for letter in letters} == {settings.topic_enrolments}


def _safe(read: Callable[[], int]) -> int:
    try:
        return read()
    except Exception:  # the database may still be starting
        return -1
