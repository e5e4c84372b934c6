"""Prometheus configuration and alert rules: promtool's own checks and rule unit tests, and the
conventions on-call relies on (labels, annotations, a runbook section per alert)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy import catalogue

SEVERITIES = {"critical", "warning"}


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: run `make tools` (Debian's prometheus package)")
    return found


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=60, check=False
    )


def test_the_config_is_valid(promtool: str) -> None:
    result = run(promtool, "check", "config", catalogue.PROMETHEUS_CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_are_valid(promtool: str) -> None:
    result = run(promtool, "check", "rules", *catalogue.RULE_FILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rule_unit_tests_pass(promtool: str) -> None:
    assert catalogue.RULE_TEST_FILES
    result = run(promtool, "test", "rules", *catalogue.RULE_TEST_FILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_labelled_and_annotated() -> None:
    for rule in catalogue.alert_rules():
        name = rule["alert"]
        assert re.fullmatch(r"Nazorg[A-Z][A-Za-z]+", name), name
        assert rule["labels"]["severity"] in SEVERITIES, name
        annotations = rule["annotations"]
        assert {"summary", "description", "runbook_url"} <= set(annotations), name
        assert annotations["runbook_url"] == f"docs/runbook.md#{name.lower()}", name


def test_every_alert_has_a_runbook_section() -> None:
    headings = re.findall(r"^## (\w+)\s*$", catalogue.RUNBOOK.read_text(), re.MULTILINE)
    alerts = [rule["alert"] for rule in catalogue.alert_rules()]
    assert sorted(headings) == sorted(alerts), "one runbook section per alert, no other"
    text = catalogue.RUNBOOK.read_text()
    for alert in alerts:
        section = text.split(f"## {alert}\n", 1)[1].split("\n## ", 1)[0]
        for part in ("**Means**", "**First checks**", "**Remedies**"):
            assert part in section, f"{alert}: the runbook section lacks {part}"


def test_every_alert_has_firing_and_quiet_unit_tests() -> None:
    fires: set[str] = set()
    quiet: set[str] = set()
    for path in catalogue.RULE_TEST_FILES:
        for case in catalogue.load_yaml(path)["tests"]:
            for check in case.get("alert_rule_test", []):
                (fires if check["exp_alerts"] else quiet).add(check["alertname"])
    alerts = {rule["alert"] for rule in catalogue.alert_rules()}
    assert alerts <= fires, f"never shown firing: {sorted(alerts - fires)}"
    assert alerts <= quiet, f"never shown quiet: {sorted(alerts - quiet)}"


def test_metrics_in_rules_follow_the_conventions() -> None:
    for name in catalogue.used_names():
        if name.startswith("nazorg_"):
            assert re.fullmatch(r"nazorg_[a-z0-9_]+", name), name
        if name.startswith("nazorg:"):
            assert re.fullmatch(r"nazorg:[a-z0-9_]+(:[a-z0-9_]+)?", name), name
