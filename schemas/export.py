"""Export the JSON Schema of every contract to ``schemas/json/`` and detect drift.

The exported files are what other teams (the bank, analytics) code against, so they are
committed, and a test fails when a model changes without them being re-exported.

    python -m schemas.export           # rewrite the files
    python -m schemas.export --check   # exit 1 and name the files that drifted
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from schemas.topics import CONTRACTS, Contract

DEFAULT_DIRECTORY: Final = Path(__file__).resolve().parent / "json"
JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"


def render(contract: Contract) -> str:
    """The file content for one contract: stable key order, 2-space indent, final newline."""
    schema = contract.adapter.json_schema(mode=contract.mode)
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["title"] = contract.name
    schema["description"] = contract.description
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def expected_files(contracts: Mapping[str, Contract] = CONTRACTS) -> dict[str, str]:
    """File name -> content for every registered contract."""
    return {f"{name}.json": render(contract) for name, contract in contracts.items()}


def export(directory: Path | None = None, check: bool = False) -> list[str]:
    """Write (or with ``check=True`` only compare) the JSON Schema files.

    Returns the sorted names of the files that are missing, stale or extra (``*.json``
    without a contract). After a write those are the files that were changed or removed;
    an empty list means the directory was, or now is, in sync.
    """
    target = DEFAULT_DIRECTORY if directory is None else directory
    wanted = expected_files(CONTRACTS)
    present = {path.name: path for path in target.glob("*.json")} if target.is_dir() else {}
    drift = sorted(
        [name for name, text in wanted.items() if _read(present.get(name)) != text]
        + [name for name in present if name not in wanted]
    )
    if check:
        return drift
    target.mkdir(parents=True, exist_ok=True)
    for name in drift:
        if name in wanted:
            (target / name).write_text(wanted[name], encoding="utf-8")
        else:
            present[name].unlink()
    return drift


def _read(path: Path | None) -> str | None:
    return None if path is None else path.read_text(encoding="utf-8")


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schemas.export", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on drift")
    parser.add_argument("--directory", type=Path, default=None, help="default: schemas/json")
    args = parser.parse_args(argv)
    directory = args.directory or DEFAULT_DIRECTORY
    changed = export(directory, check=args.check)
    if args.check and changed:
        print(
            f"JSON Schema drift in {directory}: {', '.join(changed)}. "
            "Run `python -m schemas.export` and commit the result.",
            file=sys.stderr,
        )
        return 1
    for name in changed:
        print(f"wrote {directory / name}" if (directory / name).exists() else f"removed {name}")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
