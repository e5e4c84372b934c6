"""A pilot without the bank: the broker, PostgreSQL, the dev Sofie server and intervention
workers as real processes; the test plays the pilot admin and the detector by publishing
enrolments, signals and day-closed markers itself."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from schemas.codec import encode
from schemas.ids import deterministic_id
from schemas.signals import ArrearsSignal
from services.arrears_detector.shell_translate import day_closed_marker
from services.common.broker import free_port
from services.common.db import make_engine
from services.common.kafka import ensure_topics, make_producer
from services.common.processes import ServiceProcess
from services.common.stack import LocalStack
from services.intervention.assignment import assign
from services.intervention.enrol_csv import enrolment_message
from services.intervention.repository import InterventionRepository
from tests.fixtures.database import create_isolated_pg_schema

EXPERIMENT = "sofie-pilot-2026"
ENROLLED_ON = date(2026, 1, 5)
FAST_DELIVERY = {
    "NAZORG_DISPATCH_BACKOFF_BASE_S": "0.1",
    "NAZORG_DISPATCH_BACKOFF_CAP_S": "1",
    "NAZORG_DISPATCH_MAX_ATTEMPTS": "200",
    "NAZORG_DISPATCH_LEASE_S": "10",
    "NAZORG_BREAKER_FAILURE_THRESHOLD": "3",
    "NAZORG_BREAKER_RESET_S": "1",
    "NAZORG_SOFIE_TIMEOUT_S": "1",
    "NAZORG_EXPERIMENT_KEY": EXPERIMENT,
}


def wait_until(
    predicate: Callable[[], bool],
    timeout_s: float,
    what: str,
    state: Callable[[], object] | None = None,
) -> None:
    """Poll ``predicate``; on timeout, fail with ``state()`` to show where things stood."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    shown = f": {state()}" if state is not None else ""
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}{shown}")


@dataclass
class Pilot:
    stack: LocalStack
    repository: InterventionRepository
    workers: list[ServiceProcess] = field(default_factory=list)
    sofie: ServiceProcess | None = None

    # --- processes -------------------------------------------------------------------
    def start_sofie(self) -> None:
        self.sofie = self.stack.sofie_process().start()
        self.sofie.wait_ready(30)

    def start_worker(self, name: str = "intervention", **env: str) -> ServiceProcess:
        worker = self.stack.intervention_process(name)
        worker.env.update(env)
        self.workers.append(worker.start())
        worker.wait_ready(90)
        return worker

    def stop(self) -> None:
        for worker in reversed(self.workers):
            worker.stop()
        if self.sofie is not None:
            self.sofie.stop()

    # --- the dev Sofie server ----------------------------------------------------------
    def sofie_get(self, path: str) -> Any:
        response = httpx.get(f"{self.stack.sofie_url}{path}", timeout=5)
        response.raise_for_status()
        return response.json()

    def set_fault(self, mode: str, **options: Any) -> None:
        body = {"mode": mode, **options}
        httpx.post(f"{self.stack.sofie_url}/_dev/faults", json=body, timeout=5).raise_for_status()

    def received(self) -> list[dict[str, Any]]:
        return list(self.sofie_get("/_dev/received"))

    # --- inputs ---------------------------------------------------------------------
    def publish(self, topic: str, records: list[tuple[bytes | None, bytes, int | None]]) -> None:
        producer = make_producer(self.stack.client_settings())
        try:
            futures = [
                producer.send(topic, key=key, value=value, partition=partition)
                for key, value, partition in records
            ]
            producer.flush()
            for future in futures:
                future.get(timeout=30)
        finally:
            producer.close()

    def enrol(self, clients: list[str], segment: str = "collection_struggle") -> None:
        messages = [
            enrolment_message(c, [f"L-{c}"], segment, ENROLLED_ON.isoformat()) for c in clients
        ]
        topic = self.stack.client_settings().topic_enrolments
        self.publish(topic, [(m.data.client_id.encode(), encode(m), None) for m in messages])

    def signal_onsets(self, clients: list[str]) -> None:
        """One ``arrears_onset`` per client at 10:00 UTC, each on its own day, after the
        onboarding contacts (so the contact cap leaves the onset's actions alone)."""
        signals = [
            onset(client, ENROLLED_ON + timedelta(days=60 + n)) for n, client in enumerate(clients)
        ]
        topic = self.stack.client_settings().topic_signals
        self.publish(topic, [(s.data.loan_id.encode(), encode(s), None) for s in signals])

    def close_days(self, day: date) -> None:
        partitions = self.stack.client_settings().topic_partitions
        markers = [
            day_closed_marker(p, partitions, day.isoformat(), f"{day}T18:00:00Z")
            for p in range(partitions)
        ]
        topic = self.stack.client_settings().topic_signals
        self.publish(topic, [(None, encode(m), m.data.source_partition) for m in markers])

    # --- expectations -----------------------------------------------------------------
    def planned_ids(self) -> set[str]:
        return {d.action_id for d in self.repository.decisions() if d.status == "planned"}

    def all_delivered(self) -> bool:
        stats = self.repository.outbox_stats()
        return stats.pending == 0 and stats.parked == 0 and stats.delivered > 0

    def state(self) -> dict[str, object]:
        """Counts of the pilot's state, for failure messages."""
        return {
            "enrolments": len(self.repository.enrolments()),
            "decisions": Counter(d.status for d in self.repository.decisions()),
            "outbox": self.repository.outbox_stats(),
            "outcomes": Counter(self.outcome_types()),
            "sofie": self.sofie_get("/_dev/stats"),
        }

    def outcome_types(self) -> list[str]:
        return [row.type for row in self.repository.outcomes()]


def onset(client: str, day: date) -> ArrearsSignal:
    return ArrearsSignal.model_validate(
        {
            "id": deterministic_id("signal", client, "arrears_onset"),  # as the detector's
            "source": "nazorg/arrears-detector",
            "type": "arrears_onset",
            "time": datetime(day.year, day.month, day.day, 10, tzinfo=UTC).isoformat(),
            "data": {
                "loan_id": f"L-{client}",
                "client_id": client,
                "business_date": day.isoformat(),
                "dpd": 9,
                "past_due_amount": "812.50",
                "cause_event_ids": [f"evt-{client}"],
            },
        }
    )


def cohort(size: int, treatment: int) -> list[str]:
    """``size`` client ids of which exactly ``treatment`` are assigned to treatment."""
    treated: list[str] = []
    control: list[str] = []
    n = 0
    while len(treated) < treatment or len(control) < size - treatment:
        client = f"C-{n:05d}"
        arm = assign(EXPERIMENT, client, "collection_struggle", (f"L-{client}",), 0.375).arm
        (treated if arm == "treatment" else control).append(client)
        n += 1
    return treated[:treatment] + control[: size - treatment]


@contextmanager
def pilot(kafka_bootstrap: str, pg_url: str, workdir: Path, **env: str) -> Iterator[Pilot]:
    schema, drop = create_isolated_pg_schema(pg_url, prefix="nz_pilot")
    stack = LocalStack(
        bootstrap=kafka_bootstrap,
        workdir=workdir,
        database_url=pg_url,
        database_schema=schema,
        namespace=schema,
        extra_env={**FAST_DELIVERY, **env},
    )
    stack.sofie_port, stack.intervention_port = free_port(), free_port()
    settings = stack.client_settings()
    ensure_topics(settings)
    engine = make_engine(pg_url, schema)
    harness = Pilot(stack, InterventionRepository(engine))
    try:
        harness.start_sofie()
        yield harness
    finally:
        harness.stop()
        engine.dispose()
        drop()
