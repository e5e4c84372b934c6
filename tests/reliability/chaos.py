"""``make chaos``: the long fault runs, with figures, printed as the table of docs/reliability.md.

    .venv/bin/python -m tests.reliability.chaos --cycles 20

Scenarios (each starts what it needs and stops it, whatever happens):

- ``intervention``: two intervention workers in one group; the dev Sofie server answers late
  (so kills land while actions are in flight); each cycle publishes a share of the arrears
  onsets, then SIGKILLs one worker and restarts it. Afterwards every planned action must be at
  Sofie exactly once and every signal observed once.
- ``ingest``: ingest against a broker of its own, stopped for every cycle: the cycle's batch
  must get 503, then be accepted in full after the restart and be on the topic exactly once
  (the embedded broker keeps nothing across a restart, so each cycle is counted on its own).

The detector's kill cycles need the rejoin fix on the embedded broker (docs/decisions/0007);
they run as ``tests/integration/detector/test_crash_recovery.py`` until then.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

from services.common.broker import free_port, running_broker, start_broker
from services.common.kafka import ensure_topics, read_topic
from services.common.processes import ServiceProcess
from tests.fixtures.database import DEFAULT_PG_URL
from tests.integration.ingest.helpers import bearer, ingest_settings, namespace, running_ingest
from tests.integration.intervention.harness import (
    ENROLLED_ON,
    Pilot,
    cohort,
    onset,
    pilot,
    wait_until,
)
from tests.reliability.figures import Row, delivery, events, markdown_table, verdict
from tests.unit.ingest.factories import as_array, event

ACTIONS_PER_TREATED_CLIENT = 8  # playbook-v1: 5 onboarding + 3 per arrears onset


def second_worker(harness: Pilot, name: str) -> ServiceProcess:
    """Another worker in the same group, on a web port of its own."""
    worker = harness.stack.intervention_process(name)
    port = free_port()
    worker.env["NAZORG_INTERVENTION_WEB_PORT"] = str(port)
    worker.ready_url = f"http://127.0.0.1:{port}/readyz"
    harness.workers.append(worker.start())
    worker.wait_ready(90)
    return worker


def shares(items: Sequence[str], parts: int) -> list[list[str]]:
    """``items`` in ``parts`` consecutive shares of nearly equal size (some may be empty)."""
    return [
        list(items[i * len(items) // parts : (i + 1) * len(items) // parts]) for i in range(parts)
    ]


def intervention_kill_cycles(
    bootstrap: str,
    pg_url: str,
    workdir: Path,
    *,
    cycles: int,
    clients: int,
    treatment: int,
    latency_s: float,
    seed: int,
) -> Row:
    rng = random.Random(seed)
    names = cohort(size=clients, treatment=treatment)
    with pilot(bootstrap, pg_url, workdir) as harness:
        harness.set_fault("latency", latency_s=latency_s)
        workers = [harness.start_worker("worker-a"), second_worker(harness, "worker-b")]
        harness.enrol(names)
        for cycle, share in enumerate(shares(rng.sample(names, len(names)), cycles)):
            harness.signal_onsets(share)
            time.sleep(rng.uniform(0.5, 2.0))
            victim = workers[cycle % 2]
            victim.kill()
            time.sleep(rng.uniform(0.0, 1.0))
            victim.start().wait_ready(90)
        harness.set_fault("none")
        expected = treatment * ACTIONS_PER_TREATED_CLIENT
        wait_until(
            lambda: len(harness.planned_ids()) >= expected and harness.all_delivered(),
            300,
            "every action delivered",
            harness.state,
        )
        wait_until(
            lambda: harness.outcome_types().count("signal_observed") >= len(names),
            120,
            "every signal observed",
            harness.state,
        )
        time.sleep(2)  # anything performed twice would show up now
        received = harness.received()
        observed = [
            json.loads(row.payload)["data"]["signal_id"]
            for row in harness.repository.outcomes()
            if row.type == "signal_observed"
        ]
        sent_signals = [onset(name, ENROLLED_ON).id for name in names]
        actions = delivery(
            harness.planned_ids(),
            [r["idempotency_key"] for r in received],
            resent=sum(r["requests"] > 1 for r in received),
        )
    signals = events(sent_signals, observed)
    return Row(
        test=f"chaos: intervention, {cycles} SIGKILL cycles",
        injected=f"SIGKILL of 1 of 2 workers per cycle; Sofie answering after {latency_s:g} s",
        load=f"{clients} clients ({treatment} treatment), {clients} onsets",
        events=signals,
        actions=actions,
        result=f"{verdict(signals, actions)}; {actions.resent} resent and deduplicated by Sofie",
    )


def ingest_broker_outages(workdir: Path, *, cycles: int, batch: int) -> Row:
    """Broker stopped and restarted ``cycles`` times under an ingest that keeps serving."""
    broker = start_broker(log=workdir / "ingest-broker.log")
    sent: list[str] = []
    published: list[str] = []
    refused = 0
    try:
        settings = ingest_settings(
            broker.bootstrap, namespace("chaos-ingest"), ingest_publish_timeout_s=3.0
        )
        with (
            running_ingest(settings) as ingest,
            httpx.Client(base_url=ingest.url, timeout=60) as client,
        ):
            for _ in range(cycles):
                items = [event() for _ in range(batch)]
                broker.stop()
                answer = client.post("/v1/events", content=as_array(items), headers=bearer())
                refused += answer.status_code == 503
                broker = start_broker(port=broker.port, log=workdir / "ingest-broker.log")
                ensure_topics(settings)
                retry = client.post("/v1/events", content=as_array(items), headers=bearer())
                retry.raise_for_status()
                sent += [item["id"] for item in items]
                published += [
                    json.loads(r.value)["id"]
                    for r in read_topic(settings, settings.topic_payment_events)
                ]
    finally:
        broker.stop()
    figures = events(sent, published)
    return Row(
        test=f"chaos: ingest, {cycles} broker outages",
        injected="broker stopped while a batch is posted, then restarted; the batch sent again",
        load=f"{cycles} batches of {batch} events",
        events=figures,
        result=f"{verdict(figures, None)}; {refused}/{cycles} answered 503 while down",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cycles", type=int, default=20, help="kill or outage cycles per scenario")
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--treatment", type=int, default=15)
    parser.add_argument("--latency", type=float, default=1.0, help="Sofie's answer delay, seconds")
    parser.add_argument("--batch", type=int, default=50, help="events per ingest batch")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--scenarios", default="intervention,ingest")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    rows: list[Row] = []
    with (
        tempfile.TemporaryDirectory(prefix="nazorg-chaos-") as tmp,
        running_broker(log=Path(tmp) / "broker.log") as broker,
    ):
        scenarios: dict[str, Callable[[], Row]] = {
            "intervention": lambda: intervention_kill_cycles(
                broker.bootstrap,
                args.pg_url,
                Path(tmp) / "intervention",
                cycles=args.cycles,
                clients=args.clients,
                treatment=args.treatment,
                latency_s=args.latency,
                seed=args.seed,
            ),
            "ingest": lambda: ingest_broker_outages(
                Path(tmp), cycles=args.cycles, batch=args.batch
            ),
        }
        for name in chosen:
            started = time.monotonic()
            row = scenarios[name]()
            rows.append(row)
            print(f"{name}: {row.result} ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    print(markdown_table(rows))
    return 0 if all(row.result.startswith("ok") for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
