"""Splitting a request body into items: a JSON array or NDJSON (one JSON value per line)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


class BodyNotJsonError(ValueError):
    """The body as a whole is not JSON (or NDJSON): the request gets a 400."""


@dataclass(frozen=True, slots=True)
class Item:
    """One element of the batch: its position and the parsed JSON value, or why it isn't one."""

    index: int
    value: Any = None
    error: str | None = None


def split_json_array(body: bytes) -> list[Item]:
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BodyNotJsonError(f"body is not valid JSON: {exc}") from exc
    if not isinstance(parsed, list):
        raise BodyNotJsonError("body must be a JSON array of events (or NDJSON)")
    return [Item(index=i, value=v) for i, v in enumerate(parsed)]


def split_ndjson(body: bytes) -> list[Item]:
    """Each non-empty line is one event; a bad line is rejected on its own, not the batch."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyNotJsonError("body is not UTF-8") from exc
    items: list[Item] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        index = len(items)
        try:
            items.append(Item(index=index, value=json.loads(line)))
        except json.JSONDecodeError as exc:
            items.append(Item(index=index, error=f"line is not valid JSON: {exc.msg}"))
    if items and all(item.error for item in items):
        raise BodyNotJsonError("no line of the body is valid JSON")
    return items
