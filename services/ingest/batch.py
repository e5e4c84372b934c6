"""Splitting a request body into items: a JSON array or NDJSON (one JSON value per line).

Bodies must be UTF-8 (RFC 8259). Nothing here raises anything but ``BodyNotJsonError``, whatever
the bytes: too-deep nesting and over-long integers are "not JSON" too, not a server error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from schemas.codec import decode_payment_event_array
from schemas.payments import PaymentEvent

# JSON's own whitespace; a line of nothing else in NDJSON is skipped, not an item.
JSON_WHITESPACE: Final = " \t\r"


class BodyNotJsonError(ValueError):
    """The body as a whole is not JSON (or NDJSON): the request gets a 400."""


@dataclass(frozen=True, slots=True)
class Item:
    """One element of the batch: its position and the parsed JSON value, or why it isn't one,
    or the event it already is (``split_valid_json_array``)."""

    index: int
    value: Any = None
    error: str | None = None
    event: PaymentEvent | None = None
    """The validated event, when the whole body was validated at once."""


class _ConstantError(ValueError):
    """``NaN``, ``Infinity`` or ``-Infinity``: Python reads them, JSON does not have them."""


def _no_constants(name: str) -> Any:
    raise _ConstantError(name)


def parse_json(text: str) -> Any:
    """Strict ``json.loads`` (no NaN/Infinity) that raises only ``ValueError``, whose message
    echoes no content."""
    try:
        return json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except _ConstantError as exc:
        raise ValueError(f"not valid JSON: {exc} is not a JSON value") from None
    except RecursionError:
        raise ValueError("not valid JSON: nested too deeply") from None
    except ValueError:  # an integer beyond Python's digit limit
        raise ValueError("not valid JSON: a number is too long") from None


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyNotJsonError(f"body is not UTF-8 (byte {exc.start})") from None


def split_json_array(body: bytes) -> list[Item]:
    """A JSON array: each element is one item."""
    try:
        parsed = parse_json(_utf8(body))
    except ValueError as exc:
        raise BodyNotJsonError(f"body is {exc}") from None
    if not isinstance(parsed, list):
        raise BodyNotJsonError("body must be a JSON array of events (or NDJSON)")
    return [Item(index=i, value=v) for i, v in enumerate(parsed)]


def split_valid_json_array(body: bytes) -> list[Item] | None:
    """``split_json_array`` for a body that is an array of valid payment events in the usual
    shapes, read and validated in one native pass: items carrying the events.
    ``None`` for any other body (one bad element is enough): then split it and judge each
    element on its own, which gives every element its own verdict and error.
    """
    events = decode_payment_event_array(body)
    if events is None:
        return None
    return [Item(index, None, None, event) for index, event in enumerate(events)]


def split_ndjson(body: bytes) -> list[Item]:
    """Each non-blank line is one item; a bad line is rejected on its own, not the batch.

    Lines end at ``\\n`` only (``\\r\\n`` works too): a JSON string may legally contain U+2028
    and friends, which ``str.splitlines`` would treat as line ends. Item indexes count the
    non-blank lines. A body none of whose lines is JSON is not JSON at all (400).
    """
    items: list[Item] = []
    for line in _utf8(body).split("\n"):
        if not line.strip(JSON_WHITESPACE):
            continue
        index = len(items)
        try:
            items.append(Item(index=index, value=parse_json(line)))
        except ValueError as exc:
            items.append(Item(index=index, error=f"line is {exc}"))
    if items and all(item.error is not None for item in items):
        raise BodyNotJsonError("no line of the body is valid JSON")
    return items
