"""Grafana dashboards as code: the generated files are up to date and well-formed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy import catalogue

try:
    from deploy.grafana import build
except ImportError as missing:  # the builder needs the dev dependency grafana-foundation-sdk
    pytest.fail(f"cannot build the dashboards: {missing} (run `make venv`)", pytrace=False)

REQUIRED = {"nazorg-overview.json", "nazorg-pilot-funnel.json", "nazorg-delivery.json"}


def test_the_generated_dashboards_are_up_to_date() -> None:
    stale = build.stale(build.rendered())
    assert not stale, f"stale dashboards {stale}: run `python -m deploy.grafana.build`"


def test_the_dashboards_we_promised_exist() -> None:
    assert {path.name for path in catalogue.DASHBOARD_FILES} >= REQUIRED


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = board["panels"]
    return found


def test_every_panel_has_a_unique_id_a_place_and_our_data_source() -> None:
    datasource = catalogue.load_yaml(
        catalogue.DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yaml"
    )["datasources"][0]
    uids = set()
    for name, board in catalogue.dashboards().items():
        uids.add(board["uid"])
        ids = [panel["id"] for panel in panels(board)]
        assert len(ids) == len(set(ids)), name
        for panel in panels(board):
            position = panel["gridPos"]
            assert position["x"] >= 0, (name, panel)
            assert position["x"] + position["w"] <= 24, (name, panel)
            if panel["type"] == "row":
                continue
            assert panel["title"], name
            assert panel["datasource"]["uid"] == datasource["uid"], (name, panel["title"])
            assert panel["targets"], (name, panel["title"])
            for target in panel["targets"]:
                assert target["expr"].strip(), (name, panel["title"])
                assert target["datasource"]["uid"] == datasource["uid"]
    assert len(uids) == len(catalogue.DASHBOARD_FILES)


IDENTIFIERS = {"client", "client_id", "client_ref", "loan", "loan_id", "subject", "action_id"}


def test_no_query_groups_or_filters_on_a_client_or_loan() -> None:
    exprs = [e for file_exprs in catalogue.dashboard_exprs().values() for e in file_exprs]
    exprs += [str(rule["expr"]) for rule in catalogue.rules()]
    assert catalogue.label_names('sum by (arm, loan_id) (x{client_id="C"})') == {
        "arm",
        "loan_id",
        "client_id",
    }
    for expr in exprs:
        assert not catalogue.label_names(expr) & IDENTIFIERS, expr
