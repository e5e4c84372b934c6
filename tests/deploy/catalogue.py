"""What the dashboards and alert rules in deploy/ ask Prometheus for, and what /metrics offers.

Shared by the unit tests in tests/deploy/ and the end-to-end check in tests/e2e/test_alerting.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROMETHEUS_DIR = DEPLOY / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
RULE_TEST_FILES = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
DASHBOARD_FILES = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
RUNBOOK = ROOT / "docs" / "runbook.md"

PROMETHEUS_BUILTINS = frozenset({"up", "ALERTS", "ALERTS_FOR_STATE"})
"""Series Prometheus makes itself, not a service."""

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_RANGE = re.compile(r"\[[^\]]*\]")
_METRIC = re.compile(r"(?<![\w:$])(nazorg[_:][\w:]*|up|process_[a-z_]+|python_[a-z_]+)(?![\w:(])")


def metric_names(expr: str) -> set[str]:
    """Metric (and recording rule) names in a PromQL expression.

    Our series all start with ``nazorg_`` (recording rules ``nazorg:``) or come from
    Prometheus (``up``) or prometheus-client (``process_``, ``python_``); string literals and
    range selectors are removed first, so label values and durations never count.
    """
    bare = _RANGE.sub("[]", _STRING.sub('""', expr))
    return set(_METRIC.findall(bare))


_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_MATCHER = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)")


def label_names(expr: str) -> set[str]:
    """Label names an expression groups, joins or filters on."""
    bare = _STRING.sub('""', expr)
    names = {n.strip() for group in _GROUPING.findall(bare) for n in group.split(",")}
    for selector in re.findall(r"\{([^}]*)\}", bare):
        names.update(_MATCHER.findall(selector))
    return names - {""}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rules() -> Iterator[dict[str, Any]]:
    """Every rule (recording and alerting) of every rule file."""
    for path in RULE_FILES:
        for group in load_yaml(path)["groups"]:
            yield from group["rules"]


def alert_rules() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


def recorded_names() -> set[str]:
    return {rule["record"] for rule in rules() if "record" in rule}


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def dashboards() -> dict[str, Any]:
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in DASHBOARD_FILES}


def dashboard_exprs() -> dict[str, list[str]]:
    """Every PromQL ``expr`` of every dashboard, by file name."""
    return {
        name: [value for key, value in _walk(board) if key == "expr" and isinstance(value, str)]
        for name, board in dashboards().items()
    }


def used_names() -> dict[str, set[str]]:
    """Metric name -> where it is used (``rules:<alert or record>``, ``dashboard:<file>``)."""
    used: dict[str, set[str]] = {}
    for rule in rules():
        where = f"rules:{rule.get('alert') or rule.get('record')}"
        for name in metric_names(str(rule["expr"])):
            used.setdefault(name, set()).add(where)
    for file, exprs in dashboard_exprs().items():
        for expr in exprs:
            for name in metric_names(expr):
                used.setdefault(name, set()).add(f"dashboard:{file}")
    return used


SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
}


def exposed_names(exposition: str) -> set[str]:
    """Every series name a /metrics text offers, including families that have no sample yet
    (a labelled metric nobody incremented still has HELP and TYPE lines)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        names.add(family.name)
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


def samples(exposition: str) -> Iterator[tuple[str, dict[str, str], float]]:
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            yield sample.name, dict(sample.labels), float(sample.value)


def has_sample(expositions: Iterable[str], name: str, labels: dict[str, str]) -> bool:
    """True when a sample of ``name`` (or of its family) carries all of ``labels``."""
    for exposition in expositions:
        for sample_name, sample_labels, _ in samples(exposition):
            family_match = sample_name == name or sample_name.startswith(name + "_")
            if family_match and labels.items() <= sample_labels.items():
                return True
    return False
