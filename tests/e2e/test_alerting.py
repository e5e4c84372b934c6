"""On-call signals end to end: the services' real /metrics against what the dashboards and
alert rules ask for, and a real Prometheus (Debian's package) that fires the delivery alert when
the dev Sofie server fails.

The services run as processes against the test broker and PostgreSQL (one stack for the
module); Prometheus scrapes them every second with the scrape jobs of
deploy/prometheus/prometheus.yml and the rules of deploy/prometheus/rules/, whose ``for:``
durations alone are shortened.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from schemas.codec import encode
from services.common.broker import free_port
from services.common.kafka import make_producer
from services.common.processes import ServiceProcess
from services.common.stack import LocalStack
from services.intervention.enrol_csv import enrolment_message
from services.sample_events import all_events, as_json_array
from tests.deploy import catalogue
from tests.fixtures.database import create_isolated_pg_schema
from tests.integration.intervention.harness import ENROLLED_ON, cohort, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PENDING_WIRING: dict[str, tuple[dict[str, str], str]] = {}
"""Series the dashboards or rules use that the services do not export yet, each with the
labels that show it is wired and what has to be added where (docs/operations.md). The
metric test reports them; it fails once one is exported, so that the entry is removed here,
and for any name used in deploy/ that is neither exported nor listed here."""

DELIVERY_ALERT = "NazorgSofieDeliveryFailing"
SHORT_FOR = "2s"


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(
    kafka_bootstrap: str, pg_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    schema, drop = create_isolated_pg_schema(pg_url, prefix="nz_ops")
    stack = LocalStack(
        bootstrap=kafka_bootstrap,
        workdir=tmp_path_factory.mktemp("ops") / "stack",
        database_url=pg_url,
        database_schema=schema,
        namespace=schema,
    )
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        drop()


def metrics_urls(stack: LocalStack) -> dict[str, str]:
    """The /metrics URL of each scrape job's service."""
    detector = next(p for p in stack.processes if p.name == "detector")
    return {
        "ingest": f"{stack.ingest_url}/metrics",
        "detector": detector.ready_url.removesuffix("/readyz") + "/metrics",
        "intervention": f"{stack.intervention_url}/metrics",
    }


def scrape(stack: LocalStack) -> dict[str, str]:
    return {job: httpx.get(url, timeout=10).text for job, url in metrics_urls(stack).items()}


def rules_for_test(directory: Path) -> Path:
    """The deployed rules with every ``for:`` shortened; the expressions are untouched."""
    for source in catalogue.RULE_FILES:
        document = catalogue.load_yaml(source)
        for group in document["groups"]:
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = SHORT_FOR
        (directory / source.name).write_text(yaml.safe_dump(document, sort_keys=False))
    return directory


def config_for_test(stack: LocalStack, rules_dir: Path) -> dict[str, Any]:
    """The deployed scrape jobs, pointed at this stack's loopback ports, every second."""
    deployed = catalogue.load_yaml(catalogue.PROMETHEUS_CONFIG)
    targets = {job: url.removeprefix("http://") for job, url in metrics_urls(stack).items()}
    jobs = []
    for job in deployed["scrape_configs"]:
        name = job["job_name"]
        if name not in targets:
            continue
        host_port, _, path = targets[name].partition("/")
        assert job.get("metrics_path", "/metrics") == f"/{path}"
        jobs.append(
            {
                "job_name": name,
                "metrics_path": f"/{path}",
                "static_configs": [{"targets": [host_port]}],
            }
        )
    assert {job["job_name"] for job in jobs} == set(targets), "a service is not scraped"
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules_dir / "*.yml")],
        "scrape_configs": jobs,
    }


@pytest.fixture(scope="module")
def prometheus(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus on a free loopback port scraping the stack; its base URL."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("no prometheus binary: run `make tools` (Debian's prometheus package)")
    workdir = tmp_path_factory.mktemp("prometheus")
    rules_dir = workdir / "rules"
    rules_dir.mkdir()
    config = workdir / "prometheus.yml"
    config.write_text(yaml.safe_dump(config_for_test(stack, rules_for_test(rules_dir))))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = ServiceProcess(
        "prometheus",
        [],
        {},
        f"{url}/-/ready",
        workdir / "prometheus.log",
        command=[
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=1h",
            "--log.level=warn",
        ],
    )
    server.start()
    try:
        server.wait_ready(30)
        wait_until(lambda: targets_up(url), 30, "every scrape target up", lambda: targets(url))
        yield url
    finally:
        server.stop()


# --- helpers --------------------------------------------------------------------------------


def api(url: str, path: str, **params: str) -> Any:
    response = httpx.get(f"{url}{path}", params=params, timeout=5)
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success", body
    return body["data"]


def targets(url: str) -> list[tuple[str, str, str]]:
    active = api(url, "/api/v1/targets")["activeTargets"]
    return [(t["labels"]["job"], t["health"], t.get("lastError", "")) for t in active]


def targets_up(url: str) -> bool:
    found = targets(url)
    return len(found) == 3 and all(health == "up" for _, health, _ in found)


def alert_states(url: str) -> dict[str, str]:
    """Alert name -> the most advanced state of its alerts (firing > pending)."""
    states: dict[str, str] = {}
    for alert in api(url, "/api/v1/alerts")["alerts"]:
        name = alert["labels"]["alertname"]
        if states.get(name) != "firing":
            states[name] = alert["state"]
    return states


def sample_value(exposition: str, name: str, labels: dict[str, str]) -> float:
    return sum(
        value
        for sample, sample_labels, value in catalogue.samples(exposition)
        if sample == name and labels.items() <= sample_labels.items()
    )


def enrol(stack: LocalStack, clients: list[str]) -> None:
    settings = stack.client_settings()
    producer = make_producer(settings)
    try:
        for client in clients:
            message = enrolment_message(
                client, [f"L-{client}"], "collection_struggle", ENROLLED_ON.isoformat()
            )
            producer.send(settings.topic_enrolments, key=client.encode(), value=encode(message))
        producer.flush(30)
    finally:
        producer.close()


# --- tests ----------------------------------------------------------------------------------


def test_every_metric_in_the_dashboards_and_rules_is_exported(stack: LocalStack) -> None:
    answer = httpx.post(
        f"{stack.ingest_url}/v1/events",
        content=as_json_array(all_events()),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {stack.api_token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    enrol(stack, cohort(4, 2))
    app_ids = {
        "detector": f"{stack.namespace}-arrears-detector",
        "intervention": f"{stack.namespace}-intervention",
    }

    def settled() -> bool:
        scraped = scrape(stack)
        return (
            sample_value(scraped["intervention"], "nazorg_events_consumed_total", {}) > 0
            and sample_value(
                scraped["intervention"], "nazorg_intervention_decisions_total", {"arm": "control"}
            )
            > 0
            and all(
                catalogue.has_sample(
                    [scraped[service]], "nazorg_consumer_lag_seconds", {"group": group}
                )
                for service, group in app_ids.items()
            )
        )

    wait_until(settled, 90, "signals, enrolments and lag measurements to show in /metrics")
    scraped = scrape(stack)
    exported = set().union(*(catalogue.exposed_names(text) for text in scraped.values()))
    known = exported | catalogue.recorded_names() | catalogue.PROMETHEUS_BUILTINS
    used = catalogue.used_names()

    pending = {name for name in used if _pending_entry(name) is not None}
    unknown = {name: sorted(used[name]) for name in used if name not in known | pending}
    assert not unknown, f"used in deploy/ but exported by no service: {unknown}"

    wired = [
        entry
        for entry, (labels, _) in PENDING_WIRING.items()
        if _family_exported(entry, exported)
        and (not labels or catalogue.has_sample(scraped.values(), entry, labels))
    ]
    assert not wired, f"now exported: remove from PENDING_WIRING: {wired}"
    unused = [
        entry for entry in PENDING_WIRING if not any(_pending_entry(n) == entry for n in used)
    ]
    assert not unused, f"PENDING_WIRING entries no dashboard or rule uses: {unused}"

    # The lag collector and the freshness gauge really work in the workers.
    for service, group in app_ids.items():
        text = scraped[service]
        assert catalogue.has_sample([text], "nazorg_consumer_lag_messages", {"group": group})
        assert catalogue.has_sample([text], "nazorg_last_event_timestamp_seconds", {})
    if PENDING_WIRING:
        warnings.warn(
            "metrics still to be wired (tests/e2e/test_alerting.py PENDING_WIRING): "
            + "; ".join(f"{name}: {what}" for name, (_, what) in PENDING_WIRING.items()),
            stacklevel=1,
        )


def _pending_entry(name: str) -> str | None:
    """The PENDING_WIRING entry a used series name belongs to (histograms: its family)."""
    for entry in PENDING_WIRING:
        if name == entry or (name.startswith(entry + "_") and name.rsplit("_", 1)[-1] in SUFFIX):
            return entry
    return None


SUFFIX = {"bucket", "sum", "count", "total", "created"}


def _family_exported(entry: str, exported: set[str]) -> bool:
    return entry in exported or any(f"{entry}_{suffix}" in exported for suffix in SUFFIX)


def test_a_sofie_outage_fires_the_delivery_alert(stack: LocalStack, prometheus: str) -> None:
    assert alert_states(prometheus).get(DELIVERY_ALERT) is None
    fault = httpx.post(f"{stack.sofie_url}/_dev/faults", json={"mode": "error_500"}, timeout=5)
    fault.raise_for_status()
    try:
        # Treatment clients not enrolled before: each has onboarding actions to deliver.
        enrol(stack, cohort(10, 10)[2:])
        wait_until(
            lambda: alert_states(prometheus).get(DELIVERY_ALERT) == "firing",
            120,
            f"{DELIVERY_ALERT} to fire",
            lambda: {
                "alerts": alert_states(prometheus),
                "deliveries": api(
                    prometheus,
                    "/api/v1/query",
                    query="sum by (outcome) (nazorg_intervention_deliveries_total)",
                )["result"],
            },
        )
    finally:
        httpx.post(f"{stack.sofie_url}/_dev/faults", json={"mode": "none"}, timeout=5)
