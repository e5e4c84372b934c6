"""nazorg's Grafana dashboards as code (grafana-foundation-sdk).

    python -m deploy.grafana.build           # (re)write deploy/grafana/dashboards/*.json
    python -m deploy.grafana.build --check   # exit 1 when a file is stale or missing

The JSON files are generated: edit this module, never the files. Grafana loads them through
deploy/grafana/provisioning/dashboards/nazorg.yaml; every query goes to the Prometheus data
source provisioned with uid ``nazorg-prometheus``. Metric names are checked against the
services' real /metrics output by tests/e2e/test_alerting.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from grafana_foundation_sdk.builders import (
    bargauge,
    common,
    dashboard,
    prometheus,
    stat,
    timeseries,
)
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as common_models
from grafana_foundation_sdk.models import dashboard as models

DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboards"
DATASOURCE = models.DataSourceRef(type_val="prometheus", uid="nazorg-prometheus")
RATE = "$__rate_interval"
GRID_WIDTH = 24
SERVICES = 'job=~"ingest|detector|intervention"'


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


def _target(query: Query, ref: str) -> prometheus.Dataquery:
    target = prometheus.Dataquery().expr(query.expr).ref_id(ref).datasource(DATASOURCE)
    return target.legend_format(query.legend) if query.legend else target


def _refs(queries: Sequence[Query]) -> list[tuple[Query, str]]:
    return [(q, chr(ord("A") + i)) for i, q in enumerate(queries)]


def series(
    title: str,
    *queries: Query,
    unit: str = "short",
    description: str = "",
    width: int = 8,
    stacked: bool = False,
) -> timeseries.Panel:
    """A time series panel of one or more PromQL queries."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .height(8)
        .span(width)
        .fill_opacity(10)
        .legend(
            common.VizLegendOptions()
            .show_legend(True)
            .display_mode(common_models.LegendDisplayMode.LIST)
            .placement(common_models.LegendPlacement.BOTTOM)
        )
    )
    if stacked:
        panel = panel.stacking(
            common.StackingConfig().mode(common_models.StackingMode.NORMAL)
        ).fill_opacity(40)
    for query, ref in _refs(queries):
        panel = panel.with_target(_target(query, ref))
    return panel


def thresholds(*steps: tuple[float | None, str]) -> dashboard.ThresholdsConfig:
    return (
        dashboard.ThresholdsConfig()
        .mode(models.ThresholdsMode.ABSOLUTE)
        .steps([models.Threshold(value=value, color=color) for value, color in steps])
    )


def single(
    title: str,
    *queries: Query,
    unit: str = "short",
    description: str = "",
    width: int = 4,
    steps: Sequence[tuple[float | None, str]] = ((None, "green"),),
) -> stat.Panel:
    """A stat panel showing the last value of each query."""
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .height(5)
        .span(width)
        .color_mode(common_models.BigValueColorMode.BACKGROUND)
        .graph_mode(common_models.BigValueGraphMode.NONE)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]))
        .thresholds(thresholds(*steps))
    )
    for query, ref in _refs(queries):
        panel = panel.with_target(_target(query, ref).instant())
    return panel


def funnel(title: str, arm: str, width: int = 12) -> bargauge.Panel:
    """Enrolled → signals → actions → outcomes of one arm over the dashboard's time range."""
    selector = f'arm="{arm}"'
    stages = (
        Query(f"max(nazorg_pilot_enrolled_clients{{{selector}}})", "enrolled"),
        Query(
            f"sum(increase(nazorg_intervention_signals_total{{{selector}}}[$__range]))", "signals"
        ),
        Query(
            "sum(increase(nazorg_intervention_decisions_total"
            f'{{{selector},status=~"planned|shadow|bank_process"}}[$__range]))',
            "actions",
        ),
        Query(
            f"sum(increase(nazorg_intervention_outcomes_total{{{selector}}}[$__range]))",
            "outcomes",
        ),
    )
    panel = (
        bargauge.Panel()
        .title(title)
        .description(
            "Enrolled clients (from SQL), and the signals, actions (planned, shadow and the "
            "bank's process) and outcomes of this arm in the selected time range."
        )
        .datasource(DATASOURCE)
        .height(8)
        .span(width)
        .orientation(common_models.VizOrientation.HORIZONTAL)
        .display_mode(common_models.BarGaugeDisplayMode.BASIC)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]))
    )
    for query, ref in _refs(stages):
        panel = panel.with_target(_target(query, ref).instant())
    return panel


def quantiles(metric: str, selector: str = "", by: str = "") -> list[Query]:
    """p50, p95 and p99 of a histogram, optionally split by a label."""
    group = f"le, {by}" if by else "le"
    suffix = f" {{{{{by}}}}}" if by else ""
    return [
        Query(
            f"histogram_quantile({q}, sum by ({group}) "
            f"(rate({metric}_bucket{{{selector}}}[{RATE}])))",
            f"p{int(q * 100)}{suffix}",
        )
        for q in (0.5, 0.95, 0.99)
    ]


def _dashboard(uid: str, title: str, description: str) -> dashboard.Dashboard:
    return (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["nazorg"])
        .timezone("browser")
        .time("now-6h", "now")
        .refresh("30s")
        .tooltip(models.DashboardCursorSync.CROSSHAIR)
        .link(
            dashboard.DashboardLink("nazorg")
            .type(models.DashboardLinkType.DASHBOARDS)
            .tags(["nazorg"])
            .as_dropdown(True)
        )
    )


def service_overview() -> dashboard.Dashboard:
    """Ingest, detector, intervention: rate, errors, duration, lag, freshness."""
    board = _dashboard(
        "nazorg-overview",
        "nazorg: service overview",
        "Rate, errors and duration of every flow, consumer lag, and when each input last "
        "delivered (docs/operations.md).",
    )
    board = (
        board.with_row(dashboard.Row("Health"))
        .with_panel(
            single(
                "Instances up",
                Query(f"sum by (job) (up{{{SERVICES}}})", "{{job}}"),
                steps=((None, "red"), (1, "green")),
                width=8,
            )
        )
        .with_panel(
            single(
                "Ready",
                Query("min by (service) (nazorg_ready)", "{{service}}"),
                steps=((None, "red"), (1, "green")),
                width=8,
            )
        )
        .with_panel(
            series(
                "Time since the last message, by input",
                Query(
                    "time() - max by (service, input) (nazorg_last_event_timestamp_seconds)",
                    "{{service}} {{input}}",
                ),
                unit="s",
                description="NazorgNoPaymentEvents fires on ingest's inputs during a "
                "collection window.",
            )
        )
    )
    board = (
        board.with_row(dashboard.Row("Ingest"))
        .with_panel(
            series(
                "POST /v1/events by outcome",
                Query(
                    f"sum by (outcome) (rate(nazorg_ingest_http_requests_total[{RATE}]))",
                    "{{outcome}}",
                ),
                unit="reqps",
                stacked=True,
            )
        )
        .with_panel(
            series(
                "Events by input and fate",
                Query(
                    f"sum by (input, status) (rate(nazorg_ingest_events_total[{RATE}]))",
                    "{{input}} {{status}}",
                ),
                unit="ops",
                stacked=True,
            )
        )
        .with_panel(
            series(
                "Errors and dead letters",
                Query(
                    "sum(rate(nazorg_ingest_http_requests_total"
                    f'{{outcome=~"broker_unavailable|internal_error"}}[{RATE}]))',
                    "5xx answers",
                ),
                Query(
                    f"sum by (input) (rate(nazorg_ingest_publish_failures_total[{RATE}]))",
                    "publish failures {{input}}",
                ),
                Query(
                    f"sum by (input, reason) (rate(nazorg_ingest_dead_letters_total[{RATE}]))",
                    "dead letters {{input}} {{reason}}",
                ),
                unit="ops",
            )
        )
        .with_panel(
            series(
                "POST /v1/events duration",
                *quantiles("nazorg_ingest_http_request_seconds"),
                unit="s",
                width=12,
            )
        )
        .with_panel(
            series(
                "Publish duration (until the broker acknowledged the batch)",
                *quantiles("nazorg_ingest_publish_seconds", by="input"),
                unit="s",
                width=12,
            )
        )
    )
    for service, title in (("detector", "Detector"), ("intervention", "Intervention")):
        board = (
            board.with_row(dashboard.Row(title))
            .with_panel(
                series(
                    "Messages consumed by topic",
                    Query(
                        f'sum by (topic) (rate(nazorg_events_consumed_total{{service="{service}"}}'
                        f"[{RATE}]))",
                        "{{topic}}",
                    ),
                    unit="ops",
                )
            )
            .with_panel(
                series(
                    "Processing errors by reason",
                    Query(
                        "sum by (reason) (rate(nazorg_processing_errors_total"
                        f'{{service="{service}"}}[{RATE}]))',
                        "{{reason}}",
                    ),
                    unit="ops",
                )
            )
            .with_panel(
                series(
                    "Processing duration per message",
                    *quantiles("nazorg_processing_seconds", f'service="{service}"'),
                    unit="s",
                )
            )
        )
    board = board.with_panel(
        series(
            "Signals by type",
            Query(
                f"sum by (type) (rate(nazorg_detector_signals_total[{RATE}]))",
                "{{type}}",
            ),
            unit="ops",
            width=12,
            stacked=True,
        )
    ).with_panel(
        series(
            "Produced messages by topic",
            Query(
                f"sum by (service, topic) (rate(nazorg_messages_produced_total[{RATE}]))",
                "{{service}} → {{topic}}",
            ),
            unit="ops",
            width=12,
        )
    )
    board = (
        board.with_row(dashboard.Row("Consumer lag"))
        .with_panel(
            series(
                "Lag in seconds (age of the oldest unconsumed record)",
                Query(
                    "max by (group, topic) (nazorg:consumer_lag_seconds:max)", "{{group}} {{topic}}"
                ),
                unit="s",
                description="NazorgConsumerLagHigh fires above 5 minutes for 10 minutes.",
                width=12,
            )
        )
        .with_panel(
            series(
                "Lag in messages",
                Query(
                    "sum by (group, topic) (nazorg:consumer_lag_messages:max)",
                    "{{group}} {{topic}}",
                ),
                width=12,
            )
        )
        .with_panel(
            series(
                "Faust rebalances",
                Query("max by (job, instance) (nazorg_faust_total_rebalances)", "{{instance}}"),
                width=12,
            )
        )
        .with_panel(
            series(
                "Age of the last lag measurement",
                Query(
                    "time() - max by (group) (nazorg_consumer_lag_measured_timestamp_seconds)",
                    "{{group}}",
                ),
                unit="s",
                width=12,
            )
        )
    )
    return board


def pilot_funnel() -> dashboard.Dashboard:
    """Per arm: enrolled → signals → actions → outcomes, and the balance of the arms."""
    board = _dashboard(
        "nazorg-pilot-funnel",
        "nazorg: pilot funnel per arm",
        "The Sofie pilot per arm: enrolment, signals, actions and outcomes, and the sample "
        "ratio check of the allocation.",
    )
    board = (
        board.with_row(dashboard.Row("Funnel"))
        .with_panel(funnel("Treatment: enrolled → signals → actions → outcomes", "treatment"))
        .with_panel(funnel("Control: enrolled → signals → actions → outcomes", "control"))
        .with_panel(
            single(
                "Sample ratio mismatch p-value",
                Query("min(nazorg_pilot_srm_p_value)", "p"),
                unit="none",
                description="Chi-square test of enrolments per arm against the intended "
                "allocation; below 0.001 NazorgPilotSampleRatioMismatch fires.",
                steps=((None, "red"), (0.001, "orange"), (0.01, "green")),
                width=4,
            )
        )
        .with_panel(
            single(
                "Sample ratio check",
                Query("max(nazorg_pilot_srm_flagged)", "failing"),
                description="1 when the check fails (p below NAZORG_SRM_ALPHA, or mixed "
                "intended allocations).",
                steps=((None, "green"), (1, "red")),
                width=4,
            )
        )
        .with_panel(
            single(
                "Enrolled clients by arm",
                Query("max by (arm) (nazorg_pilot_enrolled_clients)", "{{arm}}"),
                width=4,
            )
        )
        .with_panel(
            series(
                "Enrolment messages by arm and result",
                Query(
                    f"sum by (arm, result) (rate(nazorg_intervention_enrolments_total[{RATE}]))",
                    "{{arm}} {{result}}",
                ),
                unit="ops",
                width=12,
            )
        )
    )
    board = (
        board.with_row(dashboard.Row("Signals and actions"))
        .with_panel(
            series(
                "Signals of enrolled clients by arm",
                Query(
                    f"sum by (arm) (rate(nazorg_intervention_signals_total[{RATE}]))",
                    "{{arm}}",
                ),
                unit="ops",
            )
        )
        .with_panel(
            series(
                "Decisions by arm and status",
                Query(
                    f"sum by (arm, status) (rate(nazorg_intervention_decisions_total[{RATE}]))",
                    "{{arm}} {{status}}",
                ),
                unit="ops",
            )
        )
        .with_panel(
            series(
                "Decisions by channel (treatment planned, control shadow)",
                Query(
                    "sum by (arm, channel) (rate(nazorg_intervention_decisions_total"
                    f'{{status=~"planned|shadow"}}[{RATE}]))',
                    "{{arm}} {{channel}}",
                ),
                unit="ops",
            )
        )
        .with_panel(
            series(
                "Suppressed by the contact policy",
                Query(
                    f"sum by (arm, reason) (rate(nazorg_intervention_suppressed_total[{RATE}]))",
                    "{{arm}} {{reason}}",
                ),
                unit="ops",
            )
        )
        .with_panel(
            series(
                "Deferred by the contact policy",
                Query(
                    f"sum by (arm, reason) (rate(nazorg_intervention_deferred_total[{RATE}]))",
                    "{{arm}} {{reason}}",
                ),
                unit="ops",
            )
        )
        .with_panel(
            series(
                "Signals by type (all loans)",
                Query(
                    f"sum by (type) (rate(nazorg_detector_signals_total[{RATE}]))",
                    "{{type}}",
                ),
                unit="ops",
            )
        )
    )
    board = (
        board.with_row(dashboard.Row("Outcomes"))
        .with_panel(
            series(
                "Outcomes by arm and type",
                Query(
                    f"sum by (arm, type) (rate(nazorg_intervention_outcomes_total[{RATE}]))",
                    "{{arm}} {{type}}",
                ),
                unit="ops",
            )
        )
        .with_panel(
            series(
                "Follow-ups closed by arm",
                Query(
                    "sum by (arm, censored) "
                    f"(rate(nazorg_intervention_followups_closed_total[{RATE}]))",
                    "{{arm}} censored={{censored}}",
                ),
                unit="ops",
            )
        )
        .with_panel(
            series(
                "Business date closed by every detector partition",
                Query("max(nazorg_intervention_business_date_seconds) * 1000", "event time"),
                unit="dateTimeAsIso",
            )
        )
    )
    return board


def delivery_health() -> dashboard.Dashboard:
    """Sofie's API as we see it, and the outbox that feeds it."""
    board = _dashboard(
        "nazorg-delivery",
        "nazorg: delivery health",
        "Deliveries to Sofie's action API: latency, failures, the circuit breaker, and the "
        "outbox of actions waiting to be delivered.",
    )
    board = (
        board.with_row(dashboard.Row("Sofie API"))
        .with_panel(
            series(
                "Attempts by outcome",
                Query(
                    f"sum by (outcome) (rate(nazorg_intervention_deliveries_total[{RATE}]))",
                    "{{outcome}}",
                ),
                unit="ops",
                stacked=True,
            )
        )
        .with_panel(
            series(
                "Failure ratio (10m)",
                Query("nazorg:sofie_delivery_failure_ratio:rate10m", "failing"),
                unit="percentunit",
                description="NazorgSofieDeliveryFailing fires above 50% for 5 minutes.",
            )
        )
        .with_panel(
            series(
                "Circuit breaker open",
                Query("max(nazorg_intervention_sofie_circuit_open)", "open"),
            )
        )
        .with_panel(
            series(
                "Request latency",
                *quantiles("nazorg_intervention_sofie_request_seconds", by="outcome"),
                unit="s",
                width=12,
            )
        )
        .with_panel(
            series(
                "Engagement callbacks by result",
                Query(
                    f"sum by (result) (rate(nazorg_intervention_engagements_total[{RATE}]))",
                    "{{result}}",
                ),
                unit="ops",
                width=12,
            )
        )
    )
    return (
        board.with_row(dashboard.Row("Outbox"))
        .with_panel(
            single(
                "Oldest undelivered action",
                Query("max(nazorg_intervention_outbox_oldest_age_seconds)", "age"),
                unit="s",
                steps=((None, "green"), (300, "orange"), (900, "red")),
            )
        )
        .with_panel(
            single(
                "Waiting",
                Query("max(nazorg_intervention_outbox_pending)", "pending"),
            )
        )
        .with_panel(
            single(
                "Parked",
                Query("max(nazorg_intervention_outbox_parked)", "parked"),
                steps=((None, "green"), (1, "red")),
            )
        )
        .with_panel(
            series(
                "Outbox depth",
                # Every worker reads the same outbox table: max, not sum.
                Query("max(nazorg_intervention_outbox_pending)", "pending"),
                Query("max(nazorg_intervention_outbox_parked)", "parked"),
                width=12,
            )
        )
        .with_panel(
            series(
                "Age of the oldest undelivered action",
                Query("max(nazorg_intervention_outbox_oldest_age_seconds)", "age"),
                unit="s",
                width=12,
            )
        )
        .with_panel(
            series(
                "Actions parked by channel",
                Query(
                    f"sum by (channel) (rate(nazorg_intervention_actions_parked_total[{RATE}]))",
                    "{{channel}}",
                ),
                unit="ops",
            )
        )
        .with_panel(
            series(
                "Outcome relay",
                Query("max(nazorg_intervention_relay_pending)", "pending"),
                Query(
                    f"sum(rate(nazorg_intervention_outcomes_relayed_total[{RATE}]))",
                    "published/s",
                ),
            )
        )
        .with_panel(
            series(
                "Database retries by operation",
                Query(
                    f"sum by (operation) (rate(nazorg_intervention_db_retries_total[{RATE}]))",
                    "{{operation}}",
                ),
                unit="ops",
            )
        )
    )


DASHBOARDS: dict[str, Callable[[], dashboard.Dashboard]] = {
    "nazorg-overview": service_overview,
    "nazorg-pilot-funnel": pilot_funnel,
    "nazorg-delivery": delivery_health,
}


def render(board: dashboard.Dashboard) -> str:
    """The dashboard as stable, reviewable JSON (sorted keys, two-space indent), its panels
    numbered in order (Grafana needs unique panel ids; the builders leave them unset)."""
    built = board.build()
    for number, panel in enumerate(built.panels or [], start=1):
        panel.id_val = number
    _flow(built.panels or [])
    return json.dumps(built, cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def _flow(panels: Sequence[models.Panel | models.RowPanel]) -> None:
    """Lay panels out left to right in a 24-column grid, a row header starting a new line."""
    x = y = line_height = 0
    for panel in panels:
        position = panel.grid_pos or models.GridPos()
        if isinstance(panel, models.RowPanel) or x + position.w > GRID_WIDTH:
            x, y, line_height = 0, y + line_height, 0
        panel.grid_pos = models.GridPos(h=position.h, w=position.w, x=x, y=y)
        if isinstance(panel, models.RowPanel):
            y, line_height = y + position.h, 0
        else:
            x, line_height = x + position.w, max(line_height, position.h)


def rendered() -> dict[Path, str]:
    """Every dashboard file and the text it must hold."""
    return {DASHBOARD_DIR / f"{name}.json": render(build()) for name, build in DASHBOARDS.items()}


def stale(expected: dict[Path, str]) -> list[Path]:
    """Files that differ from what the builders generate, or are missing or left over."""
    differing = [
        path
        for path, text in expected.items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    leftovers = sorted(set(DASHBOARD_DIR.glob("*.json")) - set(expected))
    return differing + leftovers


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.grafana.build", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a file is stale")
    args = parser.parse_args(argv)
    expected = rendered()
    if args.check:
        outdated = stale(expected)
        for path in outdated:
            print(f"stale: {path}", file=sys.stderr)
        if outdated:
            print("run: python -m deploy.grafana.build", file=sys.stderr)
        return 1 if outdated else 0
    DASHBOARD_DIR.mkdir(parents=True, exist_ok=True)
    for leftover in sorted(set(DASHBOARD_DIR.glob("*.json")) - set(expected)):
        leftover.unlink()
    for path, text in expected.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
