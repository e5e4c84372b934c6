"""``nazorg demo``: the pilot year on this machine, end to end, then everything stopped.

Starts the embedded broker, the dev Sofie server, ingest, the detector and the intervention
(separate processes, SQLite), enrols a simulated cohort, and plays the bank's year month by
month: the month's payment events go to ingest over HTTP, the demo waits until the detector has
closed the month on every partition and the intervention has handed every planned action to
Sofie, and only then simulates the next month, whose risks follow the support Sofie actually
received (``SofieOracle``). At the end it waits for every follow-up to close, builds the report
from the intervention's database and checks detection against the simulator's ground truth.

``run_pilot`` is the whole run as a function (the end-to-end test calls it on a small cohort);
``run_demo`` adds the printing and the report files.
"""

from __future__ import annotations

import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Final

import httpx
from rich.console import Console
from rich.table import Table

from services.common.broker import running_broker
from services.common.processes import ServiceProcess
from services.common.stack import LocalStack
from services.demo_pipeline import (
    Ingest,
    PilotError,
    Probe,
    Progress,
    processed_through,
    publish_enrolments,
    signals_on_topic,
    wait_until,
)
from services.demo_quality import (
    ArmComparison,
    OnsetQuality,
    compare_arms,
    detected_onsets,
    onset_quality,
    true_onsets,
)
from services.intervention.pseudonym import pseudonymise
from services.report.model import ARMS, Report
from services.report.records import ClientOutcome
from services.simulator import (
    Client,
    Event,
    GroundTruth,
    SimulationConfig,
    TruthRecord,
    enrolment_events,
    generate_cohort,
    json_array_bodies,
    simulate,
)
from services.simulator.business_days import on_or_before
from services.simulator.sofie_oracle import DEFAULT_SUPPORT_FACTOR, SofieOracle, month_start

DEFAULT_WORKDIR: Final = Path("var/demo")
Say = Callable[[str], None]


@dataclass(frozen=True)
class PilotConfig:
    """One pilot run: the simulated cohort and how the run may fail."""

    clients: int = 428
    seed: int = 1
    support_factor: float = DEFAULT_SUPPORT_FACTOR
    break_delivery: bool = False
    """The dev Sofie server refuses every action (503): nothing reaches any client."""
    stage_timeout_s: float = 120.0
    """Longest wait for one stage (enrolments stored, a month processed, follow-ups closed)."""
    batch_size: int = 1000

    def simulation(self) -> SimulationConfig:
        return SimulationConfig(clients=self.clients, seed=self.seed)


@dataclass(frozen=True)
class PilotResult:
    config: PilotConfig
    records: list[TruthRecord]
    """The simulator's ground truth, one per client."""
    arms: dict[str, str]
    """Client id -> arm, as the intervention assigned it."""
    outcomes: list[ClientOutcome]
    """What the report reads from the intervention's database."""
    report: Report
    onsets: OnsetQuality
    counts: ArmComparison
    study_key: str
    pilot_end: date
    events: int
    final: Progress
    sofie_accepted: int
    elapsed_s: float

    def subject_of(self, client_id: str) -> str:
        return pseudonymise(client_id, self.study_key)


def last_tick(config: SimulationConfig) -> date:
    """The last business day the simulator closes: the censoring date of the pilot.

    The intervention closes the still open follow-ups when every partition has closed this day
    (``NAZORG_PILOT_END_DATE``); the truth cuts follow-up at ``config.horizon_end``. With no
    business-day close in between, both give the same outcomes (for the default horizon the two
    dates are the same day, Wed 24 Nov 2027).
    """
    return on_or_before(config.horizon_end)


def run_pilot(
    config: PilotConfig,
    workdir: Path,
    *,
    bootstrap: str | None = None,
    namespace: str = "",
    say: Say | None = None,
) -> PilotResult:
    """Run the pilot on a fresh stack in ``workdir`` (SQLite there) and stop everything.

    ``bootstrap``: an existing broker (the test suite's); None starts an embedded one.
    """
    tell: Say = say or (lambda _: None)
    started = time.monotonic()
    # The report's libraries (scipy, statsmodels, lifelines, matplotlib) take seconds to
    # import: do it while the services start, not after the year has been played.
    threading.Thread(target=preload_report, name="preload-report", daemon=True).start()
    simulation = config.simulation()
    cohort = generate_cohort(simulation)
    pilot_end = last_tick(simulation)
    workdir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as resources:
        if bootstrap is None:
            broker = resources.enter_context(running_broker(log=workdir / "broker.log"))
            bootstrap = broker.bootstrap
            tell(f"broker (Tansu) on {bootstrap}")
        stack = LocalStack(
            bootstrap=bootstrap,
            workdir=workdir,
            database_url=f"sqlite:///{(workdir / 'nazorg.db').resolve()}",
            namespace=namespace,
            extra_env={"NAZORG_PILOT_END_DATE": pilot_end.isoformat()},
        )
        resources.callback(stop_stack, stack)
        tell("starting sofie-dev, ingest, detector, intervention ...")
        stack.start()
        tell(f"services ready after {time.monotonic() - started:.0f}s")
        settings = stack.client_settings()
        if config.break_delivery:
            refuse_everything(stack.sofie_url)
            tell("dev Sofie server set to refuse every action")
        probe = Probe.for_stack(stack.database_url, stack.database_schema, settings)
        resources.callback(probe.close)
        ingest = Ingest(stack.ingest_url, stack.api_token)
        resources.callback(ingest.close)
        oracle = resources.enter_context(SofieOracle(stack.sofie_url, config.support_factor))

        truth = GroundTruth(cohort)
        events = enrolled = 0
        by_month = enrolments_by_month(cohort)
        for batch in simulate(simulation, oracle, cohort=cohort):
            # Clients enrol as the months go by: the month's enrolments go out first (a
            # client's first instalment is due on or after the enrolment date). Not waited
            # for: the month's check includes them, so the intervention stores them and
            # sends their onboarding while the detector works on the month's events.
            enrolled += publish_enrolments(settings, by_month.get(batch.month, []))
            for body in json_array_bodies(batch.events, config.batch_size):
                ingest.post(body)
            truth.observe_all(batch.events)
            events += len(batch.events)
            # The oracle's next question is about support before the next month: wait for
            # the actions that could still change its answer, not for those due later.
            closing = last_close(batch.events) or batch.last_day
            check = processed_through(closing, enrolled, drain_outbox=not config.break_delivery)
            next_month = month_start((batch.month + timedelta(days=32)).replace(day=1))
            progress = wait_for(probe, check, config.stage_timeout_s, due_before=next_month)
            supported = sum(factor != 1.0 for factor in batch.factors.values())
            tell(
                f"{batch.month:%Y-%m}  {len(batch.events):>6,} events  "
                f"{enrolled:>4} enrolled  {supported:>4} supported  "
                f"{progress.delivered_actions:>5,} actions at Sofie  "
                f"closed through {progress.watermark}  {time.monotonic() - started:6.1f}s"
            )

        final = wait_for(probe, followups_closed(len(cohort)), config.stage_timeout_s)
        tell(f"every follow-up closed ({final.closed}) {time.monotonic() - started:.1f}s")
        from services.report.sources import from_database

        records = truth.records()
        arms = probe.arms()
        outcomes = from_database(stack.database_url, stack.database_schema)
        signals = signals_on_topic(settings)
        oracle.poll()
        accepted = oracle.cursor  # seq counts accepted actions from 1, one by one
    from services.report.build import build_report

    report = build_report(outcomes)
    return PilotResult(
        config=config,
        records=records,
        arms=arms,
        outcomes=outcomes,
        report=report,
        onsets=onset_quality(true_onsets(records), detected_onsets(signals)),
        counts=compare_arms(
            records, arms, report, outcomes, lambda c: pseudonymise(c, stack.study_key)
        ),
        study_key=stack.study_key,
        pilot_end=pilot_end,
        events=events,
        final=final,
        sofie_accepted=accepted,
        elapsed_s=time.monotonic() - started,
    )


def preload_report() -> None:
    """Import the report's modules (importing is thread-safe; later imports find them)."""
    import services.report.build
    import services.report.html
    import services.report.render
    import services.report.sources  # noqa: F401


def stop_stack(stack: LocalStack) -> None:
    """Stop the stack's processes all at once (each may take seconds to shut down), then let
    the stack make sure nothing is left."""
    try:
        with ThreadPoolExecutor(max_workers=max(1, len(stack.processes))) as pool:
            list(pool.map(ServiceProcess.stop, stack.processes))
    finally:
        stack.stop()


def enrolments_by_month(cohort: Sequence[Client]) -> dict[date, list[Event]]:
    """The cohort's ``client_enrolled`` messages, by the first day of the enrolment month."""
    found: dict[date, list[Event]] = {}
    for message in enrolment_events(cohort):
        day = date.fromisoformat(message["data"]["enrolment_date"])
        found.setdefault(day.replace(day=1), []).append(message)
    return found


def refuse_everything(sofie_url: str) -> None:
    """Break delivery: the dev server answers 503 to every ``POST /v1/actions``."""
    response = httpx.post(f"{sofie_url}/_dev/faults", json={"mode": "refuse"}, trust_env=False)
    response.raise_for_status()


def last_close(events: Sequence[Event]) -> date | None:
    """The business date of the last ``business_day_closed`` tick in a month's events."""
    for event in reversed(events):
        if event["type"] == "business_day_closed":
            return date.fromisoformat(event["data"]["business_date"])
    return None


def followups_closed(count: int) -> Callable[[Progress], str | None]:
    def check(progress: Progress) -> str | None:
        if progress.closed >= count:
            return None
        return f"{progress.closed}/{count} follow-ups closed (watermark {progress.watermark})"

    return check


def wait_for(
    probe: Probe,
    check: Callable[[Progress], str | None],
    timeout_s: float,
    *,
    due_before: datetime | None = None,
) -> Progress:
    """Poll the intervention's store until ``check`` passes; returns the last reading."""
    seen: list[Progress] = []

    def poll() -> str | None:
        seen.append(probe.read(due_before))
        del seen[:-1]
        return check(seen[-1])

    wait_until(poll, timeout_s)
    return seen[-1]


# -- the demo: printing and report files -------------------------------------------------


@contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """A SIGTERM unwinds like Ctrl-C, so every process the demo started is stopped."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def write_report_files(
    result: PilotResult, outdir: Path, console: Console | None = None
) -> dict[str, Path]:
    """report.json, report.csv and report.html (with its figures) in ``outdir``.

    A figure that cannot be drawn does not lose the run: JSON and CSV are written first, and
    with a ``console`` the HTML failure is printed instead of raised.
    """
    from services.report.html import write_html
    from services.report.render import to_json, write_csv

    outdir.mkdir(parents=True, exist_ok=True)
    json_path = outdir / "report.json"
    json_path.write_text(to_json(result.report) + "\n", encoding="utf-8")
    paths = {"json": json_path, "csv": write_csv(result.report, outdir / "report.csv")}
    try:
        paths["html"] = write_html(result.report, result.outcomes, outdir)
    except ValueError as error:
        if console is None:
            raise
        console.print(f"[bold red]the HTML report could not be written:[/] {error}")
    return paths


def quality_table(result: PilotResult) -> Table:
    onsets, counts = result.onsets, result.counts
    table = Table(title="Detection quality against the simulator's ground truth")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("goal", justify="right")
    table.add_row("arrears onsets in the truth", f"{onsets.true_onsets:,}", "")
    table.add_row("arrears_onset signals", f"{onsets.detected:,}", "")
    table.add_row("onset recall", f"{onsets.recall:.1%}", "100%")
    table.add_row("onset precision", f"{onsets.precision:.1%}", "100%")
    table.add_row("clients whose outcome differs from the truth", str(counts.disagreements), "0")
    return table


def counts_table(result: PilotResult) -> Table:
    counts = result.counts
    table = Table(title="Ever in arrears per arm: ground truth vs report")
    for name in ("arm", "truth n", "truth in arrears", "report n", "report in arrears", "same"):
        table.add_column(name, justify="left" if name == "arm" else "right")
    for arm in ARMS:
        truth, report = counts.truth[arm], counts.report[arm]
        rate = f" ({truth.rate:.1%})" if truth.rate is not None else ""
        table.add_row(
            arm,
            str(truth.n),
            f"{truth.ever_in_arrears}{rate}",
            str(report.n),
            str(report.ever_in_arrears),
            "yes" if truth == report else "[bold red]NO[/]",
        )
    return table


def quality_ok(result: PilotResult) -> bool:
    return result.onsets.recall == 1.0 and result.onsets.precision == 1.0 and result.counts.equal


def run_demo(workdir: Path = DEFAULT_WORKDIR, clients: int = 428, seed: int = 1) -> int:
    """Run the demo; returns the process exit code (0 when detection meets its goals)."""
    from services.report.render import print_report

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    config = PilotConfig(clients=clients, seed=seed)
    console.print(
        f"[bold]nazorg demo[/]: the pilot year for {clients} clients (seed {seed}); "
        f"logs in {workdir}/"
    )
    started = time.monotonic()

    def say(line: str) -> None:
        console.print(f"  [{time.monotonic() - started:5.0f}s] {line}")

    try:
        with sigterm_as_exit():
            result = run_pilot(config, workdir, say=say)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: every process the demo started is stopped")
        return 130
    except SystemExit:
        console.print("[yellow]terminated[/]: every process the demo started is stopped")
        raise
    except (PilotError, RuntimeError, TimeoutError, httpx.HTTPError) as error:
        # A wait that gave up, a service that would not start, Sofie's dev API failing.
        console.print(f"[bold red]nazorg demo: FAILED[/] {error}\n(see the logs in {workdir}/)")
        return 1
    say("stopped the services and the broker")
    console.print()
    print_report(result.report, console)
    paths = write_report_files(result, workdir / "report", console)
    console.print(
        "\nReport: " + "  ".join(f"{kind.upper()} {path}" for kind, path in paths.items())
    )
    console.print()
    console.print(quality_table(result))
    console.print(counts_table(result))
    ok = quality_ok(result)
    console.print(
        f"{result.events:,} payment events, {result.sofie_accepted:,} actions accepted by Sofie, "
        f"{time.monotonic() - started:.0f}s in all"
    )
    console.print(
        "[bold green]nazorg demo: done[/]"
        if ok
        else "[bold red]nazorg demo: detection does not match the ground truth[/]"
    )
    return 0 if ok else 1
