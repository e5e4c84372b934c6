"""The mandate directory: consistent, exact for mandates, forgiving in case for loan ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ingest.iso20022 import (
    CsvMandateDirectory,
    DirectoryError,
    InMemoryMandateDirectory,
    LoanRef,
)
from tests.unit.ingest.iso20022.support import fixture_path


def test_csv_fixture_loads() -> None:
    directory = CsvMandateDirectory(fixture_path("mandates.csv"))
    assert len(directory) == 8
    assert directory.lookup("NZH-MDT-000101") == LoanRef("L-2026-000101", "C-000101")
    assert directory.lookup("nzh-mdt-000101") is None  # mandate ids are echoed back exactly
    assert directory.lookup_loan("l-2026-000106") == LoanRef("L-2026-000106", "C-000106")
    assert directory.lookup_loan("L-2026-999999") is None


def test_a_loan_may_have_several_mandates() -> None:
    directory = InMemoryMandateDirectory([("M-OLD", "L-1", "C-1"), ("M-NEW", "L-1", "C-1")])
    assert directory.lookup("M-OLD") == directory.lookup("M-NEW") == LoanRef("L-1", "C-1")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("M-1", "L-1", "C-1"), ("M-1", "L-2", "C-2")], "mandate already maps to another loan"),
        ([("M-1", "L-1", "C-1"), ("M-2", "L-1", "C-2")], "loan already belongs to another client"),
        ([("M-1", "L-1", "C-1"), ("M-2", "l-1", "C-1")], "differs only in case"),
        ([("M 1", "L-1", "C-1")], "mandate_id must be 1..128 printable ASCII"),
        ([("M-1", "", "C-1")], "loan_id must be 1..128 printable ASCII"),
        ([("M-1", "L-1", "C-é")], "client_id must be 1..128 printable ASCII"),
    ],
)
def test_inconsistent_registers_are_refused(rows: list[tuple[str, str, str]], message: str) -> None:
    with pytest.raises(DirectoryError, match=message):
        InMemoryMandateDirectory(rows)


def test_identical_rows_are_harmless() -> None:
    assert len(InMemoryMandateDirectory([("M-1", "L-1", "C-1")] * 2)) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("mandate,loan,client\nM-1,L-1,C-1\n", "header must be exactly"),
        ("", "header must be exactly"),
        ("mandate_id,loan_id,client_id\nM-1,L-1\n", "expected 3 fields"),
        ('mandate_id,loan_id,client_id\n"M-1,L-1,C-1\n', "cannot read mandate register"),
    ],
)
def test_bad_csv_files_are_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "mandates.csv"
    path.write_text(content)
    with pytest.raises(DirectoryError, match=message):
        CsvMandateDirectory(path)


def test_csv_errors_name_rows_not_values(tmp_path: Path) -> None:
    path = tmp_path / "mandates.csv"
    path.write_text("mandate_id,loan_id,client_id\nM-1,L-1,C-SECRET\nM-1,L-2,C-SECRET\n")
    with pytest.raises(DirectoryError) as caught:
        CsvMandateDirectory(path)
    assert "row 2" in str(caught.value)
    assert "SECRET" not in str(caught.value)


def test_missing_csv_file(tmp_path: Path) -> None:
    with pytest.raises(DirectoryError, match="FileNotFoundError"):
        CsvMandateDirectory(tmp_path / "absent.csv")
