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
- ``pilot``: a simulated pilot year (``--pilot-clients``, no support oracle, so every run gets
  the same input) played twice side by side on two stacks with two detector and two
  intervention workers each: once undisturbed, once while a random worker is SIGKILLed at
  random moments and restarted (``--cycles`` kills). The signal ids on the signal topic, the
  detector's final ledgers (changelog; each run also against ``replay`` of its own payment
  topic), every client's final outcome and the keys Sofie performed must be the same.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from schemas.codec import decode_signals_message
from schemas.signals import ArrearsSignal
from services.arrears_detector.shell_replay import replay
from services.common.broker import free_port, running_broker, start_broker
from services.common.kafka import ensure_topics, read_topic
from services.common.processes import ServiceProcess
from services.common.settings import DetectorSettings
from services.common.stack import LocalStack
from services.demo import (
    enrolments_by_month,
    followups_closed,
    last_close,
    last_tick,
    stop_stack,
    wait_for,
)
from services.demo_pipeline import (
    Ingest,
    PilotError,
    Probe,
    Progress,
    processed_through,
    publish_enrolments,
)
from services.report.sources import from_database
from services.simulator import SimulationConfig, generate_cohort, json_array_bodies, simulate
from services.simulator.sofie_oracle import month_start
from tests.fixtures.database import DEFAULT_PG_URL, create_isolated_pg_schema
from tests.integration.detector.workers import ledger_table
from tests.integration.ingest.helpers import bearer, ingest_settings, namespace, running_ingest
from tests.integration.intervention.harness import (
    ENROLLED_ON,
    FAST_DELIVERY,
    Pilot,
    cohort,
    onset,
    pilot,
    wait_until,
)
from tests.reliability.figures import (
    Delivery,
    Events,
    Row,
    delivery,
    differing,
    events,
    markdown_table,
    verdict,
)
from tests.reliability.stall import log_warnings, stall_report
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


def settled(harness: Pilot, names: Sequence[str], treatment: int) -> tuple[Events, Delivery]:
    """Wait until every action is at Sofie and every onset observed; then count both."""
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
    actions = delivery(
        harness.planned_ids(),
        [r["idempotency_key"] for r in received],
        resent=sum(r["requests"] > 1 for r in received),
    )
    return events([onset(name, ENROLLED_ON).id for name in names], observed), actions


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
        signals, actions = settled(harness, names, treatment)
    return Row(
        test=f"chaos: intervention, {cycles} SIGKILL cycles",
        injected=f"SIGKILL of 1 of 2 workers per cycle; Sofie answering after {latency_s:g} s",
        load=f"{clients} clients ({treatment} treatment), {clients} onsets",
        events=signals,
        actions=actions,
        result=f"{verdict(signals, actions)}; {actions.resent} resent and deduplicated by Sofie",
    )


SOFIE_PHASES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("refused", {}),  # first: a restarted dev server remembers nothing performed before
    ("error_500", {}),
    ("timeout", {}),  # hanging past the client's 1 s timeout, nothing performed
    ("latency", {"latency_s": 0.5}),  # slow but answering
)


def sofie_outages(
    bootstrap: str,
    pg_url: str,
    workdir: Path,
    *,
    outage_s: float,
    clients: int,
    treatment: int,
    seed: int,
) -> Row:
    """Sofie refusing connections, then answering 500, then hanging, then slow, each for
    ``outage_s`` while onsets keep coming; afterwards every action must be at Sofie once."""
    rng = random.Random(seed)
    names = cohort(size=clients, treatment=treatment)
    with pilot(bootstrap, pg_url, workdir) as harness:
        assert harness.sofie is not None
        harness.sofie.stop()
        harness.start_worker()
        harness.enrol(names)
        parts = shares(rng.sample(names, len(names)), len(SOFIE_PHASES))
        for (mode, options), share in zip(SOFIE_PHASES, parts, strict=True):
            if mode != "refused":
                if harness.sofie is None or not harness.sofie.alive():
                    harness.start_sofie()
                harness.set_fault(mode, **options)
            harness.signal_onsets(share)
            time.sleep(outage_s)
        harness.set_fault("none")
        signals, actions = settled(harness, names, treatment)
    minutes = outage_s * len(SOFIE_PHASES) / 60
    return Row(
        test=f"chaos: Sofie failing for {minutes:.1f} min",
        injected=(
            f"dev Sofie stopped (connections refused), then 500s, then hanging past the "
            f"client timeout, then answering after 0.5 s: {outage_s:g} s each"
        ),
        load=f"{clients} clients ({treatment} treatment), onsets during every phase",
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


# -- pilot: a simulated year under detector and intervention kills --------------------------

WORKER_KINDS = ("detector", "intervention")
PILOT_ENV = {
    **FAST_DELIVERY,
    # The dev Sofie server sends no engagement callbacks (--engagement-rate 0): they go to the
    # first intervention worker only, so a kill of it could drop one and the runs would differ
    # for a reason that is not a worker's recovery.
}


@dataclass
class YearRun:
    """What one run of the pilot year left behind."""

    events: int = 0
    months: int = 0
    signal_ids: list[str] = field(default_factory=list)
    """Arrears signals on ``arrears.signals.v1`` by id, repeats kept."""
    signals: dict[str, ArrearsSignal] = field(default_factory=dict)
    replayed: dict[str, ArrearsSignal] = field(default_factory=dict)
    """The signals ``replay`` derives from the run's own payment topic (uninterrupted)."""
    ledgers: dict[str, object] = field(default_factory=dict)
    """The detector's final ledgers, from its changelog topic."""
    replayed_ledgers: dict[str, object] = field(default_factory=dict)
    outcomes: dict[str, object] = field(default_factory=dict)
    """Subject -> final outcome (the report's ``ClientOutcome``)."""
    performed: list[str] = field(default_factory=list)
    """Idempotency keys Sofie accepted (each performed once by the server's own dedupe)."""
    resent: int = 0
    conflicts: int = 0
    kills: list[str] = field(default_factory=list)


class Killer(threading.Thread):
    """SIGKILLs a random worker after a random pause, restarts it, ``kills`` times (or until
    stopped). An error is kept for ``finish`` to raise."""

    def __init__(self, workers: Sequence[ServiceProcess], kills: int, rng: random.Random) -> None:
        super().__init__(name="pilot-killer", daemon=True)
        self.workers, self.kills, self.rng = list(workers), kills, rng
        self.halt = threading.Event()
        self.done: list[str] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        started = time.monotonic()
        try:
            for _ in range(self.kills):
                if self.halt.wait(self.rng.uniform(0.5, 4.0)):
                    return
                victim = self.rng.choice(self.workers)
                victim.kill()
                self.done.append(f"{victim.name}@{time.monotonic() - started:.0f}s")
                time.sleep(self.rng.uniform(0.0, 1.0))
                victim.start().wait_ready(90)
        except BaseException as error:  # raised again in finish()
            self.error = error

    def finish(self, timeout_s: float) -> list[str]:
        """Wait for the remaining kills (bounded); the kills done."""
        self.join(timeout_s)
        if self.is_alive():
            raise RuntimeError(f"kills not done after {timeout_s:.0f} s: {self.done}")
        if self.error is not None:
            raise self.error
        return self.done


def play_year(
    bootstrap: str,
    pg_url: str,
    workdir: Path,
    simulation: SimulationConfig,
    *,
    study_key: str,
    kills: int,
    seed: int,
    stage_timeout_s: float,
    say: Callable[[str], None] = lambda _: None,
) -> YearRun:
    """One pilot year on a stack of its own (2 detector and 2 intervention workers), month by
    month as ``run_pilot`` plays it, with no support oracle; ``kills`` SIGKILLs meanwhile."""
    cohort = generate_cohort(simulation)
    run = YearRun()
    schema, drop = create_isolated_pg_schema(pg_url, prefix="nz_chaos")
    stack = LocalStack(
        bootstrap=bootstrap,
        workdir=workdir,
        database_url=pg_url,
        database_schema=schema,
        namespace=schema,
        study_key=study_key,
        extra_env={**PILOT_ENV, "NAZORG_PILOT_END_DATE": last_tick(simulation).isoformat()},
        sofie_args=["--engagement-rate", "0"],
    )
    killer: Killer | None = None
    try:
        stack.start()
        extra = [
            stack.extra_worker("detector", "detector-b"),
            stack.extra_worker("intervention", "intervention-b"),
        ]
        for worker in extra:
            stack.processes.append(worker.start())
        for worker in extra:
            worker.wait_ready(90)
        settings = stack.client_settings()
        detector = DetectorSettings.model_validate(
            {**settings.model_dump(), "detector_app_id": f"{schema}-arrears-detector"}
        )
        probe = Probe.for_stack(pg_url, schema, settings)
        ingest = Ingest(stack.ingest_url, stack.api_token)

        def wait(check: Callable[[Progress], str | None], **options: Any) -> None:
            try:
                wait_for(probe, check, stage_timeout_s, **options)
            except PilotError as error:
                where = stall_report(
                    settings,
                    detector_group=detector.detector_app_id,
                    intervention_group=stack.env()["NAZORG_INTERVENTION_APP_ID"],
                    database_url=pg_url,
                    schema=schema,
                )
                logs = log_warnings(workdir)
                raise PilotError(f"{error}\n{where}\n{logs}") from error

        try:
            if kills:
                workers = [p for p in stack.processes if p.args[0] in WORKER_KINDS]
                killer = Killer(workers, kills, random.Random(seed))
                killer.start()
            enrolled = 0
            by_month = enrolments_by_month(cohort)
            for batch in simulate(simulation, None, cohort=cohort):
                enrolled += publish_enrolments(settings, by_month.get(batch.month, []))
                # Stored before the month's signals can reach the intervention, so that the
                # order of the two topics cannot change a decision.
                wait(enrolments_stored(enrolled))
                for body in json_array_bodies(batch.events, 1000):
                    ingest.post(body)
                run.events += len(batch.events)
                run.months += 1
                closing = last_close(batch.events) or batch.last_day
                next_month = month_start((batch.month + timedelta(days=32)).replace(day=1))
                check = processed_through(closing, enrolled, drain_outbox=True)
                wait(check, due_before=next_month)
                say(f"{workdir.name}: {batch.month:%Y-%m} done, {run.events:,} events")
            if killer is not None:
                run.kills = killer.finish(90 + 10 * kills)
            wait(followups_closed(len(cohort)))
            wait(outbox_empty)
            run.outcomes = {o.subject: o for o in from_database(pg_url, schema)}
        finally:
            if killer is not None:
                killer.halt.set()
                killer.join(120)
            ingest.close()
            probe.close()
        reference = replay(detector)
        run.replayed = {
            m.id: m
            for m in map(decode_signals_message, reference.signals)
            if isinstance(m, ArrearsSignal)
        }
        run.replayed_ledgers = reference.ledgers
        deadline = time.monotonic() + stage_timeout_s
        while True:  # the changelog and the signal topic may trail the database a little
            messages = [
                decode_signals_message(r.value)
                for r in read_topic(settings, settings.topic_signals)
            ]
            run.signals = {m.id: m for m in messages if isinstance(m, ArrearsSignal)}
            run.signal_ids = [m.id for m in messages if isinstance(m, ArrearsSignal)]
            run.ledgers = ledger_table(detector)
            settled = (
                run.signals.keys() >= run.replayed.keys() and run.ledgers == run.replayed_ledgers
            )
            if settled or time.monotonic() > deadline:
                break
            time.sleep(2)
        received = sofie_received(stack.sofie_url)
        stats = httpx.get(f"{stack.sofie_url}/_dev/stats", trust_env=False).json()
        run.performed = [r["idempotency_key"] for r in received]
        run.resent = sum(r["requests"] > 1 for r in received)
        run.conflicts = int(stats["conflicts"])
    finally:
        stop_stack(stack)
        drop()
    return run


def sofie_received(url: str) -> list[dict[str, Any]]:
    """Every action the dev Sofie server accepted, page by page (``/_dev/received``)."""
    found: list[dict[str, Any]] = []
    while True:
        page = httpx.get(
            f"{url}/_dev/received",
            params={"since": found[-1]["seq"] if found else 0, "limit": 5000},
            trust_env=False,
        ).json()
        if not page:
            return found
        found += page


def enrolments_stored(count: int) -> Callable[[Progress], str | None]:
    def check(progress: Progress) -> str | None:
        return None if progress.enrolled >= count else f"{progress.enrolled}/{count} enrolled"

    return check


def outbox_empty(progress: Progress) -> str | None:
    if progress.pending_actions or progress.parked_actions:
        return f"{progress.pending_actions} pending, {progress.parked_actions} parked actions"
    return None


def describe(signals: Mapping[str, ArrearsSignal], ids: Iterable[str], limit: int = 10) -> str:
    """Signals as type, business date and loan, to tell which loans a difference is about."""
    found = sorted(ids)
    lines = [
        f"{signals[i].type} {signals[i].data.business_date} {signals[i].data.loan_id} ({i})"
        if i in signals
        else i
        for i in found[:limit]
    ]
    more = f" and {len(found) - limit} more" if len(found) > limit else ""
    return "; ".join(lines) + more


@dataclass(frozen=True)
class PilotFigures:
    row: Row
    problems: list[str]
    """Every difference from the undisturbed run, precisely (empty: the runs agree)."""
    kills: list[str]
    """The workers killed, as ``name@seconds`` since the kills began."""


def pilot_kill_cycles(
    bootstrap: str,
    pg_url: str,
    workdir: Path,
    simulation: SimulationConfig,
    *,
    cycles: int,
    seed: int,
    stage_timeout_s: float = 180.0,
    say: Callable[[str], None] = lambda _: None,
) -> PilotFigures:
    """The same pilot year twice, side by side: undisturbed, and with ``cycles`` SIGKILLs of a
    random detector or intervention worker; everything the second left must equal the first."""
    study_key = secrets.token_urlsafe(32)  # the same pseudonyms and arms in both runs

    def year(kills: int) -> YearRun:
        return play_year(
            bootstrap,
            pg_url,
            workdir / ("killed" if kills else "quiet"),
            simulation,
            study_key=study_key,
            kills=kills,
            seed=seed,
            stage_timeout_s=stage_timeout_s,
            say=say,
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        quiet, killed = pool.map(year, [0, cycles])
    return compare(quiet, killed, clients=simulation.clients, cycles=cycles)


def compare(quiet: YearRun, killed: YearRun, *, clients: int, cycles: int) -> PilotFigures:
    """The killed run against the undisturbed one (and each against its own replay)."""
    problems: list[str] = []
    everything = {**quiet.replayed, **killed.replayed, **quiet.signals, **killed.signals}

    def note_difference(label: str, expected: set[str], actual: set[str]) -> None:
        lost, extra = expected - actual, actual - expected
        if lost or extra:
            problems.append(
                f"{label}: lost {len(lost)} [{describe(everything, lost)}], "
                f"unexpected {len(extra)} [{describe(everything, extra)}]"
            )

    for name, run in (("undisturbed", quiet), ("killed", killed)):
        note_difference(f"{name} run vs its replay", set(run.replayed), set(run.signal_ids))
        if loans := differing(run.replayed_ledgers, run.ledgers):
            problems.append(f"{name} run: ledgers differ from its replay for {loans}")
    signals = events(quiet.signal_ids, killed.signal_ids)
    note_difference("signals", set(quiet.signal_ids), set(killed.signal_ids))
    if loans := differing(quiet.ledgers, killed.ledgers):
        problems.append(f"final ledgers differ for {len(loans)} loans: {loans[:10]}")
    if subjects := differing(quiet.outcomes, killed.outcomes):
        problems.append(f"final outcomes differ for {len(subjects)} clients: {subjects[:10]}")
    actions = delivery(quiet.performed, killed.performed, resent=killed.resent)
    if actions.lost or actions.duplicated:
        missing = sorted(set(quiet.performed) - set(killed.performed))
        unplanned = sorted(set(killed.performed) - set(quiet.performed))
        problems.append(f"Sofie keys missing {missing[:10]}, unexpected {unplanned[:10]}")
    if quiet.conflicts or killed.conflicts:
        problems.append(
            f"Sofie conflicts: {quiet.conflicts} undisturbed, {killed.conflicts} killed"
        )
    if quiet.events != killed.events:
        problems.append(f"events sent: {quiet.events} undisturbed, {killed.events} killed")
    detector_kills = sum(k.startswith("detector") for k in killed.kills)
    repeats = len(killed.signal_ids) - len(set(killed.signal_ids))
    summary = (
        f"{repeats} signal records repeated on the topic; {actions.resent} actions resent and "
        f"deduplicated by Sofie; {len(killed.outcomes)} outcomes and "
        f"{len(killed.ledgers)} ledgers equal"
    )
    result = verdict(signals, actions)
    if problems and result == "ok":
        result = "DIFFERS"
    return PilotFigures(
        row=Row(
            test=f"chaos: pilot year, {cycles} SIGKILLs",
            injected=(
                f"SIGKILL of a random worker of 2 detector + 2 intervention workers at random "
                f"moments ({detector_kills} detector, {len(killed.kills) - detector_kills} "
                f"intervention), each restarted"
            ),
            load=(
                f"{clients} clients, {killed.months} months, {killed.events:,} payment "
                f"events; compared with the same year undisturbed"
            ),
            events=signals,
            actions=actions,
            result=f"{result}; {summary}" if not problems else f"{result}; " + " / ".join(problems),
        ),
        problems=problems,
        kills=killed.kills,
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
    parser.add_argument(
        "--pilot-clients", type=int, default=40, help="cohort of the pilot scenario's year"
    )
    parser.add_argument(
        "--outage-s", type=float, default=60.0, help="length of each Sofie fault phase, seconds"
    )
    parser.add_argument("--scenarios", default="intervention,sofie,ingest,pilot")
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
            "sofie": lambda: sofie_outages(
                broker.bootstrap,
                args.pg_url,
                Path(tmp) / "sofie",
                outage_s=args.outage_s,
                clients=args.clients,
                treatment=args.treatment,
                seed=args.seed,
            ),
            "ingest": lambda: ingest_broker_outages(
                Path(tmp), cycles=args.cycles, batch=args.batch
            ),
            "pilot": lambda: (
                pilot_kill_cycles(
                    broker.bootstrap,
                    args.pg_url,
                    Path(tmp) / "pilot",
                    SimulationConfig(clients=args.pilot_clients, seed=args.seed % 1000),
                    cycles=args.cycles,
                    seed=args.seed,
                    say=lambda line: print(line, file=sys.stderr),
                ).row
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
