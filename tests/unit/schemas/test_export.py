from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from schemas import export as export_module
from schemas import topics
from schemas.enrolments import Enrolment, EnrolmentData
from schemas.export import DEFAULT_DIRECTORY, export
from schemas.topics import CONTRACTS, Contract


def test_committed_json_schemas_are_in_sync_with_the_models() -> None:
    assert export(check=True) == [], "run `python -m schemas.export` and commit schemas/json"


def test_one_file_per_contract_in_stable_format() -> None:
    files = sorted(path.name for path in DEFAULT_DIRECTORY.glob("*.json"))
    assert files == sorted(f"{name}.json" for name in CONTRACTS)
    text = (DEFAULT_DIRECTORY / "payments.events.v1.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    assert text == json.dumps(schema, indent=2, sort_keys=True) + "\n"
    assert schema["title"] == "payments.events.v1"
    assert schema["discriminator"]["propertyName"] == "type"


def test_export_writes_then_is_in_sync(tmp_path: Path) -> None:
    written = export(tmp_path)
    assert written == sorted(f"{name}.json" for name in CONTRACTS)
    assert export(tmp_path, check=True) == []
    assert export(tmp_path) == []  # nothing left to change


def test_check_names_missing_stale_and_extra_files(tmp_path: Path) -> None:
    export(tmp_path)
    (tmp_path / "outcomes.v1.json").unlink()
    (tmp_path / "arrears.signals.v1.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "old.v0.json").write_text("{}\n", encoding="utf-8")
    assert export(tmp_path, check=True) == [
        "arrears.signals.v1.json",
        "old.v0.json",
        "outcomes.v1.json",
    ]
    assert (tmp_path / "arrears.signals.v1.json").read_text(encoding="utf-8") == "{}\n"
    export(tmp_path)
    assert not (tmp_path / "old.v0.json").exists()
    assert export(tmp_path, check=True) == []


class _ChangedEnrolmentData(EnrolmentData):
    """A model edited in place: the very change the versioning rule forbids."""

    channel_preference: str | None = None


class _ChangedEnrolment(Enrolment):
    data: _ChangedEnrolmentData


def test_check_fails_when_a_model_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export(tmp_path)
    changed = dict(CONTRACTS)
    original = CONTRACTS["pilot.enrollments.v1"]
    changed["pilot.enrollments.v1"] = Contract(
        name=original.name,
        adapter=TypeAdapter(_ChangedEnrolment),
        mode=original.mode,
        description=original.description,
    )
    monkeypatch.setattr(export_module, "CONTRACTS", changed)
    assert export(tmp_path, check=True) == ["pilot.enrollments.v1.json"]
    assert topics.CONTRACTS is not changed  # the real registry was never touched


def test_command_line_check_exits_1_and_names_the_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export(tmp_path)
    (tmp_path / "outcomes.v1.json").write_text("{}\n", encoding="utf-8")
    assert export_module._main(["--check", "--directory", str(tmp_path)]) == 1
    assert "outcomes.v1.json" in capsys.readouterr().err
    assert export_module._main(["--directory", str(tmp_path)]) == 0
    assert export_module._main(["--check", "--directory", str(tmp_path)]) == 0
