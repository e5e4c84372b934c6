"""A simulated pilot year for many loans through the whole pipeline: wall time and peak memory.

The simulator plays the bank's year for ``loans`` loans (one client each) first, into request
bodies on disk, so its own time is not in the figure. Then the stack the demo runs (the dev Sofie
server, ingest, the detector, the intervention on SQLite) gets the pilot's enrolments (the first
``enrolled`` clients: the lender follows a pilot cohort, the detector watches every loan) and the
year's payment events over ingest's HTTP API in order, as fast as ingest answers. The clock stops
when the intervention has seen the last business day closed on every partition and handed Sofie
every action due, i.e. when the year's last signal could have been acted on.

Peak memory is each process's high-water resident set (``VmHWM`` in ``/proc``), and CPU time
its user plus system time, both read just before the processes stop. Goal (issue 9): 100,000
loans in <= 5 minutes on this 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from bench.common import Result, Timer
from services.common.broker import running_broker
from services.common.processes import ServiceProcess
from services.common.stack import LocalStack
from services.demo import last_close
from services.demo_pipeline import Ingest, Probe, processed_through, publish_enrolments
from services.simulator import (
    Client,
    SimulationConfig,
    enrolment_events,
    generate_cohort,
    simulate,
)
from services.simulator.output import json_array_bodies

GOAL_S = 300.0
NAMESPACE = "bench-year"


def peak_rss_mb(pid: int) -> float | None:
    """The process's high-water resident set in MiB, or None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """The process's CPU time so far (user + system), or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    # utime and stime are fields 14 and 15 of stat(5); the split starts at field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _write_bodies(
    config: SimulationConfig, cohort: list[Client], out: Path, batch: int
) -> tuple[int, date]:
    """Simulate the year into ``out`` (one body per line); returns the events and the last
    business day closed."""
    events = 0
    closes: list[date] = []
    with out.open("wb") as sink:
        for month in simulate(config, None, cohort=cohort):
            events += len(month.events)
            closes.extend(filter(None, [last_close(month.events)]))
            for body in json_array_bodies(month.events, batch):
                sink.write(body + b"\n")
    return events, max(closes)


def _bodies(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        for line in source:
            yield line.rstrip(b"\n")


def run(
    bootstrap: str,
    workdir: Path,
    loans: int,
    enrolled: int = 428,
    batch: int = 1000,
    broker_pid: int | None = None,
) -> list[Result]:
    config = SimulationConfig(clients=loans, seed=1)
    cohort = generate_cohort(config)
    pilot = enrolment_events(cohort)[: min(enrolled, loans)]
    bodies_path = Path(tempfile.mkstemp(prefix="pilot-year-", suffix=".ndjson", dir=workdir)[1])
    with Timer() as simulated:
        events, closed = _write_bodies(config, cohort, bodies_path, batch)
    stack = LocalStack(
        bootstrap=bootstrap,
        workdir=workdir / "year",
        database_url=f"sqlite:///{(workdir / 'year.db').resolve()}",
        namespace=NAMESPACE,
        extra_env={
            # A year of sustained load: the longer group timeouts of the detector bench
            # (docs/decisions/0007-end-offsets.md).
            "NAZORG_CONSUMER_SESSION_TIMEOUT_S": "15",
            "NAZORG_CONSUMER_HEARTBEAT_INTERVAL_S": "3",
            "NAZORG_CONSUMER_MAX_POLL_INTERVAL_S": "60",
            "NAZORG_LOG_LEVEL": "WARNING",
        },
    )
    stack.workdir.mkdir(parents=True, exist_ok=True)
    peaks: dict[str, float | None] = {}
    cpu: dict[str, float | None] = {}
    try:
        stack.start()
        settings = stack.client_settings()
        probe = Probe.for_stack(stack.database_url, stack.database_schema, settings)
        ingest = Ingest(stack.ingest_url, stack.api_token, timeout_s=120)
        try:
            with Timer() as whole:
                publish_enrolments(settings, pilot)
                with Timer() as ingested:
                    for body in _bodies(bodies_path):
                        ingest.post(body)
                check = processed_through(closed, len(pilot), drain_outbox=True)
                deadline = time.monotonic() + 3600
                while (missing := check(probe.read(None))) is not None:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"pilot year did not finish in an hour: {missing}")
                    time.sleep(0.5)
        finally:
            ingest.close()
            probe.close()
        pids = {process.name: process.pid for process in stack.processes}
        if broker_pid is not None:
            pids["broker"] = broker_pid
        peaks = {name: peak_rss_mb(pid) for name, pid in pids.items()}
        cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
    finally:
        with ThreadPoolExecutor(max_workers=max(1, len(stack.processes))) as pool:
            list(pool.map(ServiceProcess.stop, stack.processes))
        stack.stop()
        os.unlink(bodies_path)
    result = Result(
        name=f"pilot year, {loans:,} loans through the whole pipeline",
        subject=whole.seconds,
        unit="s",
        goal=f"<= {GOAL_S:.0f} s for 100,000 loans",
        details={
            "loans": loans,
            "enrolled": len(pilot),
            "events": events,
            "events_per_s": round(events / whole.seconds, 1),
            "ingest_answered_all_s": round(ingested.seconds, 1),
            "simulation_s": round(simulated.seconds, 1),
            "peak_rss_mb": {name: round(mb, 1) if mb else None for name, mb in peaks.items()},
            # Where the machine's two cores went: the broker's figure includes the other
            # benchmarks' topics when it is shared.
            "cpu_s": {name: round(s, 1) if s is not None else None for name, s in cpu.items()},
        },
    )
    result.met = loans >= 100_000 and whole.seconds <= GOAL_S
    return [result]


def main() -> None:
    """``python -m bench.pilot_year --loans N``: this benchmark alone, on a broker of its own
    (``make bench`` runs it at 2,000 loans beside the others)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--loans", type=int, default=2000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pilot-year-"))
    with running_broker(log=work / "broker.log") as broker:
        for result in run(broker.bootstrap, work, loans=args.loans, broker_pid=broker.process.pid):
            print(f"{result.name}: {result.subject:,.1f} {result.unit}")
            print(json.dumps(result.details, indent=1))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
