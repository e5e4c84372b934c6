"""`nazorg schemas export --check` guards schemas/json against drift from the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from schemas import export as export_module
from services.cli import main


def test_committed_json_schema_matches_the_models() -> None:
    result = CliRunner().invoke(main, ["schemas", "export", "--check"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_check_fails_and_names_the_file_when_a_model_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export_module.export(directory=tmp_path)
    victim = sorted(tmp_path.glob("*.json"))[0]
    victim.write_text(victim.read_text().replace('"type"', '"kind"', 1))
    original = export_module.export
    monkeypatch.setattr(
        export_module,
        "export",
        lambda directory=None, check=False: original(directory=tmp_path, check=check),
    )
    result = CliRunner().invoke(main, ["schemas", "export", "--check"])
    assert result.exit_code != 0
    assert victim.name in result.output
