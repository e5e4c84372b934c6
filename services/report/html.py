"""The report as one HTML page with two PNG figures beside it (matplotlib, Agg backend).

Figures are drawn on ``matplotlib.figure.Figure`` with an Agg canvas, never through pyplot:
no display, no global state, safe in a server or a test run.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Final

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from services.report import statistics as st
from services.report.model import ARMS, Report
from services.report.records import ClientOutcome, survival_time
from services.report.render import format_interval, format_p, format_rate, populations

__all__ = ["KM_PNG", "RATES_PNG", "REPORT_HTML", "write_html"]

REPORT_HTML: Final = "report.html"
RATES_PNG: Final = "rates_by_segment.png"
KM_PNG: Final = "km_curves.png"
COLOURS: Final = {"treatment": "#1b9e77", "control": "#d95f02"}
STYLE: Final = """
body { font-family: system-ui, sans-serif; margin: 2rem; max-width: 72rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: right; }
th:first-child, td:first-child, td:nth-child(2) { text-align: left; }
.flag { color: #b00; font-weight: bold; } .warn { color: #a60; } .dim { color: #777; }
img { max-width: 100%; }
"""


def write_html(report: Report, outcomes: Sequence[ClientOutcome], outdir: Path) -> Path:
    """Write ``report.html`` and its two figures into ``outdir``; returns the HTML's path.

    ``outcomes`` are the rows the report was built from (the KM curves need the times).
    """
    outdir.mkdir(parents=True, exist_ok=True)
    _save(_rates_figure(report), outdir / RATES_PNG)
    _save(_km_figure(report, outcomes), outdir / KM_PNG)
    path = outdir / REPORT_HTML
    path.write_text(_page(report), encoding="utf-8")
    return path


def _rates_figure(report: Report) -> Figure:
    figure = Figure(figsize=(9, 4.5), layout="constrained")
    axes = figure.subplots()
    labels = [label for label, _ in populations(report)]
    for offset, arm in zip((-0.15, 0.15), ARMS, strict=True):
        xs, ys, below, above = [], [], [], []
        for x, (_, population) in enumerate(populations(report)):
            stats = population.arms[arm]
            if stats.rate is None or stats.ci_low is None or stats.ci_high is None:
                continue
            xs.append(x + offset)
            ys.append(stats.rate)
            # Clamped: a Wilson bound at 0 % or 100 % can land a rounding error past the rate.
            below.append(max(stats.rate - stats.ci_low, 0.0))
            above.append(max(stats.ci_high - stats.rate, 0.0))
        axes.errorbar(
            xs, ys, yerr=[below, above], fmt="o", capsize=4, color=COLOURS[arm], label=arm
        )
    axes.set_xticks(range(len(labels)), labels)
    axes.set_ylim(0, 1)
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_ylabel("ever in arrears (closed clients)")
    axes.set_title("Arrears rate with Wilson 95% CI, per segment and arm")
    axes.legend()
    return figure


def _km_figure(report: Report, outcomes: Sequence[ClientOutcome]) -> Figure:
    figure = Figure(figsize=(9, 4.5), layout="constrained")
    axes = figure.subplots()
    for arm in ARMS:
        samples = [survival_time(o) for o in outcomes if o.arm == arm]
        try:
            curve = st.km_curve(samples)
        except st.UndefinedError:
            continue
        colour = COLOURS[arm]
        axes.step(curve.days, curve.incidence, where="post", color=colour, label=arm)
        axes.fill_between(
            curve.days, curve.ci_low, curve.ci_high, step="post", color=colour, alpha=0.2
        )
    axes.axvline(report.horizon_days, color="#888", linestyle=":", label="horizon")
    axes.set_ylim(0, 1)
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_xlabel("days since start of follow-up")
    axes.set_ylabel("cumulative incidence of arrears")
    axes.set_title("Kaplan-Meier cumulative incidence with 95% band")
    axes.legend()
    return figure


def _save(figure: Figure, path: Path) -> None:
    FigureCanvasAgg(figure)
    figure.savefig(path, format="png", dpi=110, metadata={"Software": None})


def _page(report: Report) -> str:
    srm = report.srm
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Pilot report {escape(report.experiment_key or '')}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Pilot report: {escape(report.experiment_key or '(mixed or no experiment)')}</h1>",
        f"<p>{report.enrolled} enrolled clients (intention to treat), {report.pending} still in "
        f"follow-up; read from {escape(report.generated_from)}.</p>",
        *(f'<p class="warn">Warning: {escape(w)}</p>' for w in report.warnings),
        "<h2>Arrears per arm</h2>",
        _arms_table(report),
        f'<img src="{RATES_PNG}" alt="arrears rate per segment and arm with 95% CI">',
        f'<img src="{KM_PNG}" alt="Kaplan-Meier cumulative incidence per arm">',
        "<h2>Treatment vs control</h2>",
        _comparisons_table(report),
        "<h2>Sample ratio mismatch</h2>",
        f"<p>Observed {escape(str(srm.observed))}; intended allocation "
        f"{srm.intended_allocation}; chi-square p = {format_p(srm.p)} (alpha {srm.alpha:g}): "
        + ('<span class="flag">FLAGGED</span>' if srm.flagged else "ok")
        + (f" ({escape(srm.reason)})" if srm.reason else "")
        + "</p>",
        _missing(report),
        '<p class="dim">Rates are over closed clients; clients still in follow-up are censored '
        "at day 0 for Kaplan-Meier. See docs/report.md for the methods.</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _arms_table(report: Report) -> str:
    head = (
        "Population",
        "Arm",
        "Enrolled",
        "Pending",
        "Closed",
        "Censored",
        "Arrears",
        "Rate (95% CI)",
        f"KM at {report.horizon_days} d (95% CI)",
        "Relapse (95% CI)",
    )
    rows = []
    for label, population in populations(report):
        for arm in ARMS:
            stats, relapse = population.arms[arm], population.relapse[arm]
            rows.append(
                (
                    label,
                    arm,
                    stats.enrolled,
                    stats.pending,
                    stats.n,
                    stats.censored,
                    stats.with_arrears,
                    format_rate(stats.rate, stats.ci_low, stats.ci_high),
                    format_interval(population.km[arm], ".1%"),
                    f"{relapse.relapsed}/{relapse.ever_in_arrears} "
                    + format_rate(relapse.rate, relapse.ci_low, relapse.ci_high),
                )
            )
    return _table(head, rows)


def _comparisons_table(report: Report) -> str:
    head = (
        "Population",
        "Risk difference (95% CI)",
        "Relative risk (95% CI)",
        "Fisher p",
        "Chi-square p",
        "Log-rank p",
        "SRM p",
    )
    rows = [
        (
            label,
            format_interval(population.risk_difference, "+.1%"),
            format_interval(population.relative_risk, ".3f"),
            format_p(population.fisher_p),
            format_p(population.chi2_p),
            format_p(population.logrank_p),
            format_p(population.srm.p) + (" FLAGGED" if population.srm.flagged else ""),
        )
        for label, population in populations(report)
    ]
    return _table(head, rows)


def _missing(report: Report) -> str:
    items = [
        f"<li>{escape(label)}: {escape(name)}: {escape(reason)}</li>"
        for label, population in populations(report)
        for name, reason in population.unavailable.items()
    ] + [
        f"<li>{escape(label)}: {escape(note)}</li>"
        for label, population in populations(report)
        for note in population.notes
    ]
    if not items:
        return ""
    return '<h2>Not computed, and notes</h2><ul class="dim">' + "".join(items) + "</ul>"


def _table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"
