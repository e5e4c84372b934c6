"""The report's outputs: terminal tables, JSON, CSV, HTML with PNG figures."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import pytest
from rich.console import Console

from services.report.build import build_report
from services.report.html import KM_PNG, RATES_PNG, write_html
from services.report.model import Report
from services.report.records import ClientOutcome
from services.report.render import (
    CSV_HEADER,
    print_report,
    rounded,
    table,
    to_json,
    write_csv,
)

from .factories import censored_cohort, seed_cohort

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def rows() -> list[ClientOutcome]:
    return censored_cohort()


@pytest.fixture(scope="module")
def report(rows: list[ClientOutcome]) -> Report:
    return build_report(rows, generated_from="test rows")


def test_table_and_printout_show_every_population(report: Report) -> None:
    console = Console(record=True, width=220)
    console.print(table(report))
    text = console.export_text()
    for label in ("all", "prevention", "collection_struggle", "treatment", "control"):
        assert label in text
    print_report(report, console)
    text = console.export_text()
    assert "Treatment vs control" in text
    assert "SRM" in text
    assert "still in follow-up" in text


def test_json_round_trips_with_sorted_keys_and_six_significant_digits(report: Report) -> None:
    text = to_json(report)
    loaded = json.loads(text)
    assert loaded == rounded(dataclasses.asdict(report))
    assert json.dumps(loaded, sort_keys=True, indent=2) == text
    assert to_json(report) == text
    assert loaded["overall"]["srm"]["p"] == pytest.approx(report.srm.p, rel=1e-5)
    assert report.fisher_p is not None
    assert loaded["overall"]["fisher_p"] == float(f"{report.fisher_p:.6g}")


def test_json_keeps_small_p_values() -> None:
    loaded = json.loads(to_json(build_report(seed_cohort(allocation=0.5))))
    assert loaded["overall"]["srm"]["p"] == pytest.approx(1.78559e-07, rel=1e-6)
    assert loaded["overall"]["srm"]["flagged"] is True


def test_csv_has_one_row_per_arm_and_per_arm_and_segment(report: Report, tmp_path: Path) -> None:
    path = write_csv(report, tmp_path / "report.csv")
    with path.open(newline="") as handle:
        header, *rows = list(csv.reader(handle))
    assert tuple(header) == CSV_HEADER
    assert [(r[0], r[1]) for r in rows] == [
        (segment, arm)
        for segment in ("all", "prevention", "collection_struggle")
        for arm in ("treatment", "control")
    ]
    first = dict(zip(header, rows[0], strict=True))
    stats = report.arms["treatment"]
    assert (first["enrolled"], first["pending"], first["n"]) == ("13", "2", "11")
    assert float(first["rate"]) == pytest.approx(stats.rate, rel=1e-5)


def test_html_references_both_figures_which_are_png(
    report: Report, rows: list[ClientOutcome], tmp_path: Path
) -> None:
    path = write_html(report, rows, tmp_path / "out")
    assert path == tmp_path / "out" / "report.html"
    html = path.read_text(encoding="utf-8")
    assert f'src="{RATES_PNG}"' in html
    assert f'src="{KM_PNG}"' in html
    assert "<table>" in html
    assert "test rows" in html
    for name in (RATES_PNG, KM_PNG):
        data = (tmp_path / "out" / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE)
        assert len(data) > 1000


def test_an_empty_report_still_renders(tmp_path: Path) -> None:
    report = build_report([])
    json.loads(to_json(report))
    write_csv(report, tmp_path / "report.csv")
    html = write_html(report, [], tmp_path).read_text(encoding="utf-8")
    assert "no enrolled clients" in html
    assert (tmp_path / KM_PNG).read_bytes().startswith(PNG_SIGNATURE)
