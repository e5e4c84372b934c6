"""Committed JSON documents (OpenAPI files) and their drift check, written one way everywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def render(document: dict[str, Any]) -> str:
    """The document as committed: sorted keys, two-space indent, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def sync(document: dict[str, Any], check: bool, path: Path) -> bool:
    """Write ``document`` to ``path`` (or only compare when ``check``); True if it differed."""
    text = render(document)
    current = path.read_text(encoding="utf-8") if path.exists() else None
    if current == text:
        return False
    if not check:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return True
