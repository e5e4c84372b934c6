"""The report as a terminal table (rich), JSON and CSV.

JSON is for machines and archives: every field, keys sorted, floats to 6 significant digits
(enough for any p-value or interval the report prints, and stable across platforms).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.table import Table

from services.report.model import ARMS, Interval, Population, Report

__all__ = [
    "CSV_HEADER",
    "comparisons_table",
    "format_interval",
    "format_p",
    "format_rate",
    "populations",
    "print_report",
    "rounded",
    "table",
    "to_json",
    "write_csv",
]

SIGNIFICANT_DIGITS: Final = 6
ALL: Final = "all"
CSV_HEADER: Final = (
    "segment",
    "arm",
    "enrolled",
    "pending",
    "n",
    "censored",
    "with_arrears",
    "rate",
    "ci_low",
    "ci_high",
    "km_incidence",
    "km_ci_low",
    "km_ci_high",
    "relapse_at_risk",
    "relapsed",
    "relapse_rate",
    "relapse_ci_low",
    "relapse_ci_high",
)


def populations(report: Report) -> Iterator[tuple[str, Population]]:
    """("all", overall) first, then each segment in the report's order."""
    yield ALL, report.overall
    yield from report.by_segment.items()


def table(report: Report) -> Table:
    """Per population and arm: counts, the arrears rate and KM incidence with 95% CIs."""
    out = Table(title=f"Arrears within follow-up (KM at {report.horizon_days} days)")
    for name in ("Population", "Arm"):
        out.add_column(name)
    for name in ("Enrolled", "Pending", "Closed", "Censored", "Arrears"):
        out.add_column(name, justify="right")
    for name in ("Rate (95% CI)", "KM incidence (95% CI)", "Relapse (95% CI)"):
        out.add_column(name, justify="right")
    for label, population in populations(report):
        for arm in ARMS:
            stats, relapse = population.arms[arm], population.relapse[arm]
            out.add_row(
                label if arm == ARMS[0] else "",
                arm,
                str(stats.enrolled),
                str(stats.pending),
                str(stats.n),
                str(stats.censored),
                str(stats.with_arrears),
                format_rate(stats.rate, stats.ci_low, stats.ci_high),
                format_interval(population.km[arm], ".1%"),
                f"{relapse.relapsed}/{relapse.ever_in_arrears} "
                + format_rate(relapse.rate, relapse.ci_low, relapse.ci_high),
                end_section=arm == ARMS[-1],
            )
    return out


def comparisons_table(report: Report) -> Table:
    """Treatment vs control per population: effect sizes, tests and the SRM check."""
    out = Table(title="Treatment vs control")
    out.add_column("Population")
    for name in ("Risk difference (95% CI)", "Relative risk (95% CI)"):
        out.add_column(name, justify="right")
    for name in ("Fisher p", "Chi-square p", "Log-rank p", "SRM p"):
        out.add_column(name, justify="right")
    for label, population in populations(report):
        srm = population.srm
        out.add_row(
            label,
            format_interval(population.risk_difference, "+.1%"),
            format_interval(population.relative_risk, ".3f"),
            format_p(population.fisher_p),
            format_p(population.chi2_p),
            format_p(population.logrank_p),
            ("[bold red]FLAGGED[/] " if srm.flagged else "") + format_p(srm.p),
        )
    return out


def print_report(report: Report, console: Console) -> None:
    """Both tables, the SRM check, warnings and why any statistic is missing."""
    srm = report.srm
    console.print(
        f"[bold]Pilot report[/] experiment={report.experiment_key or '(mixed or none)'} "
        f"enrolled={report.enrolled} pending={report.pending} from {report.generated_from}"
    )
    console.print(table(report))
    console.print(comparisons_table(report))
    expected = (
        ", ".join(f"{arm} {value:.1f}" for arm, value in srm.expected.items())
        if srm.expected
        else "-"
    )
    console.print(
        f"SRM: observed {srm.observed}, expected {expected} "
        f"(intended allocation {srm.intended_allocation}), p = {format_p(srm.p)}, "
        f"alpha = {srm.alpha:g}: " + ("[bold red]FLAGGED[/]" if srm.flagged else "ok")
    )
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    for label, population in populations(report):
        for name, reason in population.unavailable.items():
            console.print(f"[dim]{label}: {name} not computed: {reason}[/]", highlight=False)
        for note in population.notes:
            console.print(f"[dim]{label}: {note}[/]", highlight=False)


def rounded(value: object) -> object:
    """``value`` with every float rounded to 6 significant digits (recursively)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("a non-finite number reached the report")
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(item) for item in value]
    return value


def to_json(report: Report) -> str:
    """Every field of the report as JSON, keys sorted (stable diffs between runs)."""
    return json.dumps(
        rounded(dataclasses.asdict(report)), sort_keys=True, indent=2, allow_nan=False
    )


def write_csv(report: Report, path: Path) -> Path:
    """One row per arm (segment ``all``) and per arm and segment, header ``CSV_HEADER``."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        for label, population in populations(report):
            for arm in ARMS:
                writer.writerow(_csv_row(label, arm, population))
    return path


def _csv_row(label: str, arm: str, population: Population) -> list[object]:
    stats, relapse, km = population.arms[arm], population.relapse[arm], population.km[arm]
    values: list[object] = [
        label,
        arm,
        stats.enrolled,
        stats.pending,
        stats.n,
        stats.censored,
        stats.with_arrears,
        stats.rate,
        stats.ci_low,
        stats.ci_high,
        km.estimate if km else None,
        km.ci_low if km else None,
        km.ci_high if km else None,
        relapse.ever_in_arrears,
        relapse.relapsed,
        relapse.rate,
        relapse.ci_low,
        relapse.ci_high,
    ]
    return ["" if value is None else rounded(value) for value in values]


def format_rate(rate: float | None, low: float | None, high: float | None) -> str:
    if rate is None or low is None or high is None:
        return "-"
    return format_interval(Interval(rate, low, high), ".1%")


def format_interval(value: Interval | None, spec: str) -> str:
    if value is None:
        return "-"
    return f"{value.estimate:{spec}} ({value.ci_low:{spec}} to {value.ci_high:{spec}})"


def format_p(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"
