"""Fixtures for the ISO 20022 import tests: the sample files, imported once, and their
mandate directory."""

from __future__ import annotations

import pytest

from services.ingest.iso20022 import CsvMandateDirectory, ImportResult, import_file
from tests.unit.ingest.iso20022.support import fixture_path

VALID_SAMPLES = (
    "camt054_collections.xml",
    "camt054_returns.xml",
    "camt054_refund.xml",
    "camt054_transfers.xml",
    "camt054_one_bad_entry.xml",
    "camt054_v02_returns.xml",
    "pain002_rejects.xml",
    "pain002_v03_rejects.xml",
)


@pytest.fixture(scope="session")
def directory() -> CsvMandateDirectory:
    return CsvMandateDirectory(fixture_path("mandates.csv"))


@pytest.fixture(scope="session")
def imported(directory: CsvMandateDirectory) -> dict[str, ImportResult]:
    """Every valid sample file imported once (importing is pure, so sharing is safe)."""
    return {name: import_file(fixture_path(name), directory) for name in VALID_SAMPLES}
