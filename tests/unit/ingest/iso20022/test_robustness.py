"""A surprise inside the mapper costs one entry, never the file; error paths stay clean."""

from __future__ import annotations

from typing import Any

import pytest

from services.ingest.iso20022 import camt054, import_bytes, import_file, importer
from services.ingest.iso20022.mandates import MandateDirectory
from services.ingest.iso20022.xsd_errors import safe_path
from tests.unit.ingest.iso20022.support import fixture_path


def test_a_mapper_bug_fails_only_its_entry(
    directory: MandateDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = camt054.map_entry

    def flaky(data: Any, location: str, *args: Any, **kwargs: Any) -> Any:
        if location.endswith("Ntry[2]"):
            raise ZeroDivisionError("simulated bug")
        return real(data, location, *args, **kwargs)

    monkeypatch.setattr(camt054, "map_entry", flaky)
    result = import_file(fixture_path("camt054_returns.xml"), directory)
    assert [(e.index, e.reason) for e in result.errors] == [(1, "internal_error")]
    assert len(result.events) == 2
    assert result.counts() == {"entries": 3, "events": 2, "skipped": 0, "errors": 1}


def test_an_unexpected_failure_rejects_the_file_cleanly(
    directory: MandateDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(importer, "decode", broken)
    result = import_bytes(fixture_path("camt054_returns.xml").read_bytes(), directory)
    assert result.file_error is not None
    assert result.file_error.reason == "internal_error"
    assert result.entries == 0


def test_error_paths_name_only_declared_elements() -> None:
    known = frozenset({"Document", "Ntry", "Amt"})
    path = "/{urn:x}Document/{urn:x}Ntry[2]/{urn:x}NL37ABNA0518362947/{urn:x}Amt"
    assert safe_path(path, known) == ["Document", "Ntry[2]", "*", "Amt"]
    assert safe_path(None, known) == []
