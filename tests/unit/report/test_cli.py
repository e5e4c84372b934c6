"""``nazorg report`` end to end on in-memory outcomes (the sources have integration tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from services.report import sources
from services.report.cli import report
from services.report.records import ClientOutcome

from .factories import censored_cohort


@pytest.fixture
def read_urls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str | None]]:
    calls: list[tuple[str, str | None]] = []

    def fake(url: str, schema: str | None = None) -> list[ClientOutcome]:
        calls.append((url, schema))
        return censored_cohort()

    monkeypatch.setattr(sources, "from_database", fake)
    return calls


def test_report_writes_every_output_and_prints_the_table(
    read_urls: list[tuple[str, str | None]], tmp_path: Path
) -> None:
    url = "postgresql://reporter:secret@db.example/pilot"
    result = CliRunner().invoke(
        report, ["--from", "database", "--database-url", url, "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert read_urls == [(url, None)]
    for name in (
        "report.json",
        "report.csv",
        "report.html",
        "rates_by_segment.png",
        "km_curves.png",
    ):
        assert (tmp_path / name).is_file()
        assert f"wrote {tmp_path / name}" in result.output
    assert "Treatment vs control" in result.output
    assert "secret" not in (tmp_path / "report.json").read_text()


def test_json_only_prints_json_and_writes_nothing_else(
    read_urls: list[tuple[str, str | None]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NAZORG_DATABASE_URL", "sqlite:///pilot.db")
    monkeypatch.setenv("NAZORG_DATABASE_SCHEMA", "pilot")
    result = CliRunner().invoke(
        report, ["--from", "database", "--out", str(tmp_path), "--json-only"]
    )
    assert result.exit_code == 0, result.output
    assert read_urls == [("sqlite:///pilot.db", "pilot")]
    loaded = json.loads(result.stdout)
    assert loaded["overall"]["arms"]["control"]["with_arrears"] == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
