"""Figures for arms where every client (or none) was in arrears."""

from __future__ import annotations

from pathlib import Path

from services.report.build import build_report
from services.report.html import write_html
from tests.unit.report.factories import client


def test_an_arm_with_every_client_in_arrears_still_draws(tmp_path: Path) -> None:
    # Wilson's upper bound for 9/9 is 1 - 1e-16: an error bar must not come out negative.
    outcomes = [client(f"t{i}", "treatment", arrears_day=30) for i in range(9)] + [
        client(f"c{i}", "control") for i in range(9)
    ]
    page = write_html(build_report(outcomes), outcomes, tmp_path)
    assert page.exists()
    assert (tmp_path / "rates_by_segment.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
