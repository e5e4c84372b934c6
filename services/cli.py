"""The one command-line entry point: ``nazorg <command>``.

Imports happen inside the commands so that ``nazorg broker`` does not load Faust and
``nazorg ingest`` does not load SQLAlchemy.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import BinaryIO, TextIO

import click

from services.report.cli import report
from services.sofie_dev.cli import sofie_dev, sofie_dev_openapi


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """nazorg: payment monitoring for mortgage after-care."""


@main.command()
@click.option("--port", type=int, default=None, help="Port to listen on (default: a free one).")
def broker(port: int | None) -> None:
    """Run the embedded Kafka-compatible broker (Tansu) on 127.0.0.1 until SIGINT/SIGTERM."""
    from services.common.broker import start_broker

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    embedded = start_broker(port=port, log=sys.stderr.buffer)
    click.echo(embedded.bootstrap, nl=True)
    sys.stdout.flush()
    try:
        while not stop.wait(0.5):
            if not embedded.alive():
                raise click.ClickException("the broker exited unexpectedly")
    finally:
        embedded.stop()


@main.group()
def schemas() -> None:
    """The contracts in schemas/."""


@schemas.command("export")
@click.option("--check", is_flag=True, help="Write nothing; fail when the files drift.")
def schemas_export(check: bool) -> None:
    """Write JSON Schema for every contract to schemas/json/ (or check that it is current)."""
    from schemas.export import export

    drift = export(check=check)
    if check and drift:
        raise click.ClickException(
            "schemas/json is stale; run `nazorg schemas export`: " + ", ".join(drift)
        )
    click.echo("schemas/json is up to date" if check else f"wrote {len(drift)} files")


@main.command("settings")
@click.argument("service", type=click.Choice(["ingest", "detector", "intervention"]))
def show_settings(service: str) -> None:
    """Print a service's effective settings, secrets masked."""
    from services.common import settings as s

    classes = {
        "ingest": s.IngestSettings,
        "detector": s.DetectorSettings,
        "intervention": s.InterventionSettings,
    }
    click.echo(json.dumps(classes[service]().display(), indent=2, sort_keys=True))


@main.group()
def db() -> None:
    """The intervention service's SQL database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the Alembic migrations to NAZORG_DATABASE_URL (and NAZORG_DATABASE_SCHEMA)."""
    from services.common.db import make_engine, upgrade
    from services.common.settings import InterventionSettings

    settings = InterventionSettings()
    engine = make_engine(settings.database_url.get_secret_value(), settings.database_schema)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    click.echo("database is at the latest migration")


@main.group(invoke_without_command=True)
@click.pass_context
def ingest(ctx: click.Context) -> None:
    """Run ingest: the HTTP API (POST /v1/events) and the inbound topic consumer."""
    if ctx.invoked_subcommand is None:
        from services.ingest.server import serve

        serve()


@ingest.command("openapi")
@click.option("--check", is_flag=True, help="Write nothing; fail when the file is stale.")
def ingest_openapi(check: bool) -> None:
    """Write the ingest API's OpenAPI document to docs/openapi/ingest.json (or check it)."""
    from services.ingest.api import openapi_document
    from services.ingest.openapi_doc import DOC_PATH, sync

    changed = sync(openapi_document(), check=check)
    if check and changed:
        raise click.ClickException(f"{DOC_PATH} is stale; run `nazorg ingest openapi`")
    click.echo(f"{DOC_PATH} is up to date" if check or not changed else f"wrote {DOC_PATH}")


@ingest.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--mandates",
    required=True,
    envvar="NAZORG_INGEST_MANDATES_CSV",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Mandate register CSV with header mandate_id,loan_id,client_id.",
)
@click.option("--max-bytes", type=click.IntRange(min=1), default=None, help="Per-file limit.")
@click.option("--dry-run", is_flag=True, help="Parse and map only; publish nothing.")
def ingest_import(
    files: tuple[Path, ...], mandates: Path, max_bytes: int | None, dry_run: bool
) -> None:
    """Import ISO 20022 camt.054 / pain.002 files; exit 1 when anything was dead-lettered."""
    from services.ingest.file_import import run_import, summary_lines
    from services.ingest.iso20022 import DirectoryError
    from services.ingest.publisher import PublishError

    try:
        summaries, dead_lettered = run_import(files, mandates, max_bytes=max_bytes, dry_run=dry_run)
    except DirectoryError as exc:
        raise click.ClickException(f"mandate register: {exc}") from exc
    except PublishError as exc:
        raise click.ClickException(
            f"the broker did not acknowledge ({exc}); run the import again"
        ) from exc
    for line in summary_lines(summaries):
        click.echo(line)
    if dead_lettered:
        sys.exit(1)


@main.group(invoke_without_command=True)
@click.pass_context
def detector(ctx: click.Context) -> None:
    """Run an arrears-detector worker (Faust)."""
    if ctx.invoked_subcommand is None:
        from services.arrears_detector.app import run_worker

        run_worker()


@detector.command("replay")
@click.option(
    "--signals-out",
    type=click.File("wb"),
    default="-",
    help="Where to write the signals as NDJSON (default: stdout).",
)
@click.option(
    "--ledgers-out",
    type=click.File("w"),
    default=None,
    help="Also write the final ledgers (the Faust table's contents) as JSON.",
)
def detector_replay(signals_out: BinaryIO, ledgers_out: TextIO | None) -> None:
    """Rebuild every ledger from payments.events.v1 without Faust and write the signals."""
    from services.arrears_detector.shell_replay import replay
    from services.common.settings import DetectorSettings

    result = replay(DetectorSettings())
    for line in result.signals:
        signals_out.write(line + b"\n")
    if ledgers_out is not None:
        json.dump(result.ledgers, ledgers_out, sort_keys=True)
    click.echo(
        f"replayed {result.events} events: {len(result.ledgers)} ledgers, "
        f"{len(result.signals)} signals, {result.errors} errors",
        err=True,
    )


@main.group(invoke_without_command=True)
@click.pass_context
def intervention(ctx: click.Context) -> None:
    """Run an intervention worker (Faust + SQL)."""
    if ctx.invoked_subcommand is None:
        from services.intervention.app import run_worker

        run_worker()


@intervention.command("enroll")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--dry-run", is_flag=True, help="Validate only; publish nothing.")
def intervention_enroll(file: TextIO, dry_run: bool) -> None:
    """Enrol the clients of a CSV file (client_id,loan_ids,segment,enrolment_date; loan ids
    separated by ';'): every row valid, or nothing is published."""
    from services.common.kafka import ensure_topics, make_producer
    from services.common.settings import CommonSettings
    from services.intervention.enrol_csv import EnrolmentFileError, encoded, parse

    try:
        messages = parse(file)
    except EnrolmentFileError as exc:
        for error in exc.errors[:100]:
            click.echo(str(error), err=True)
        if len(exc.errors) > 100:
            click.echo(f"... and {len(exc.errors) - 100} more", err=True)
        raise click.ClickException(str(exc)) from exc
    if dry_run:
        click.echo(f"{len(messages)} enrolments valid; nothing published (dry run)")
        return
    settings = CommonSettings()
    if settings.create_topics:
        ensure_topics(settings, [settings.topic_enrolments])
    producer = make_producer(settings)
    try:
        sent = [
            producer.send(settings.topic_enrolments, key=key, value=value)
            for key, value in encoded(messages)
        ]
        producer.flush()
        for future in sent:
            future.get(timeout=30)  # raises unless the broker acknowledged (acks=all)
    except Exception as exc:
        raise click.ClickException(
            f"the broker did not acknowledge every enrolment ({type(exc).__name__}); "
            "run the import again: re-enrolling is idempotent"
        ) from exc
    finally:
        producer.close()
    click.echo(f"published {len(messages)} enrolments to {settings.topic_enrolments}")


main.add_command(sofie_dev)
main.add_command(sofie_dev_openapi)
main.add_command(report)


@main.command("simulate")
@click.option(
    "--clients",
    type=click.IntRange(min=1),
    default=428,
    show_default=True,
    help="Clients in the cohort (one mortgage loan each).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Same seed, same bytes.",
)
@click.option(
    "--out",
    type=click.File("wb"),
    default="-",
    help="Payment events as NDJSON, in event-time order (default: stdout).",
)
@click.option(
    "--truth",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Ground truth per client: .csv for CSV, anything else JSON.",
)
@click.option(
    "--enrolments",
    type=click.File("wb"),
    default=None,
    help="Also write the cohort's pilot.enrollments.v1 messages as NDJSON.",
)
@click.option(
    "--validate-every",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Validate every n-th event against the contract (0: none, 1: all).",
)
@click.option("--quiet", is_flag=True, help="No progress line on stderr.")
def simulate(
    clients: int,
    seed: int,
    out: BinaryIO,
    truth: Path | None,
    enrolments: BinaryIO | None,
    validate_every: int,
    quiet: bool,
) -> None:
    """Simulate the bank's payment events for a pilot cohort, with its ground truth."""
    from services.simulator import SimulationConfig, run

    result = run(
        SimulationConfig(clients=clients, seed=seed),
        out,
        truth_path=truth,
        enrolments_out=enrolments,
        validate_every=validate_every,
        progress=not quiet,
    )
    click.echo(
        f"simulated {result.events:,} events over {result.months} months in {result.seconds:.1f}s",
        err=True,
    )
    if result.truth is not None:
        overall = result.truth["all"]
        click.echo(
            f"ground truth -> {truth}: {overall['ever_in_arrears']} of "
            f"{overall['clients']} clients ever in arrears ({overall['rate']:.1%}), "
            f"{overall['censored']} censored",
            err=True,
        )


@main.command()
@click.option("--clients", type=click.IntRange(min=1), default=428, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/demo"),
    show_default=True,
    help="Logs, the SQLite database and report/ (emptied first).",
)
def demo(clients: int, seed: int, workdir: Path) -> None:
    """The pilot year end to end: broker, dev Sofie and the three services as processes, a
    simulated cohort month by month, then the report and detection quality. Stops everything."""
    from services.demo import run_demo

    sys.exit(run_demo(workdir, clients=clients, seed=seed))


if __name__ == "__main__":  # pragma: no cover
    main()
