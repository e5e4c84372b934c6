"""``nazorg report``: read the outcomes, print the report, write JSON, CSV and HTML.

Registered in ``services/cli.py``; the heavy imports (scipy, statsmodels, lifelines,
matplotlib, kafka, SQLAlchemy) happen inside the command so the rest of the CLI stays fast.
"""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["report"]


@click.command("report")
@click.option(
    "--from",
    "source",
    type=click.Choice(["topic", "database"]),
    default="topic",
    show_default=True,
    help="Read outcomes.v1 from the broker, or the intervention service's SQL store.",
)
@click.option(
    "--database-url",
    envvar="NAZORG_DATABASE_URL",
    default=None,
    help="With --from database (default: NAZORG_DATABASE_URL, else the service's default).",
)
@click.option(
    "--database-schema",
    envvar="NAZORG_DATABASE_SCHEMA",
    default=None,
    help="PostgreSQL schema (default: NAZORG_DATABASE_SCHEMA).",
)
@click.option(
    "--out",
    "outdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/report"),
    show_default=True,
    help="Directory for report.json, report.csv, report.html and the figures.",
)
@click.option(
    "--json-only",
    is_flag=True,
    help="Write only report.json and print the JSON on stdout (no table, CSV or HTML).",
)
@click.option("--horizon-days", type=click.IntRange(min=1), default=365, show_default=True)
@click.option("--srm-alpha", type=click.FloatRange(0, 1, min_open=True), default=0.001)
def report(
    source: str,
    database_url: str | None,
    database_schema: str | None,
    outdir: Path,
    json_only: bool,
    horizon_days: int,
    srm_alpha: float,
) -> None:
    """The pilot report: ITT arrears rates, effect sizes, Kaplan-Meier incidence and SRM."""
    from kafka.errors import KafkaError
    from rich.console import Console
    from sqlalchemy.exc import SQLAlchemyError

    from services.common.db import masked_url
    from services.common.settings import CommonSettings
    from services.report import render, sources
    from services.report.build import build_report
    from services.report.html import KM_PNG, RATES_PNG, write_html

    try:
        if source == "database":
            url = database_url or _default_database_url()
            outcomes = sources.from_database(url, database_schema)
            origin = f"database {masked_url(url)}"
        else:
            settings = CommonSettings()
            outcomes = sources.from_topic(settings)
            origin = f"topic {settings.topic_outcomes} at {settings.bootstrap_servers}"
    except (KafkaError, SQLAlchemyError, TimeoutError, sources.SourceError) as error:
        raise click.ClickException(f"could not read the outcomes: {error}") from error

    built = build_report(
        outcomes, horizon_days=horizon_days, srm_alpha=srm_alpha, generated_from=origin
    )
    outdir.mkdir(parents=True, exist_ok=True)
    json_path = outdir / "report.json"
    json_path.write_text(render.to_json(built) + "\n", encoding="utf-8")
    if json_only:
        click.echo(json_path.read_text(encoding="utf-8"), nl=False)
        click.echo(f"wrote {json_path}", err=True)
        return
    render.print_report(built, Console())
    written = [
        json_path,
        render.write_csv(built, outdir / "report.csv"),
        write_html(built, outcomes, outdir),
        outdir / RATES_PNG,
        outdir / KM_PNG,
    ]
    for path in written:
        click.echo(f"wrote {path}")


def _default_database_url() -> str:
    """The intervention service's default URL, read without building its settings: those
    demand the study key, which reading outcomes does not need."""
    from services.common.settings import InterventionSettings

    default = InterventionSettings.model_fields["database_url"].default
    return str(default.get_secret_value())
