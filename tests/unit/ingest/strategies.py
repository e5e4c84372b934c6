"""Hypothesis strategies for malformed input: bodies, JSON values, and near-valid events."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

from tests.unit.ingest.factories import EVENT_TYPES
from tests.unit.schemas.examples import PAYMENT_EVENTS

# Strings that probe the contract's edges: look-alike digits, separators, huge, control chars.
_NASTY = st.sampled_from(
    [
        "",
        " ",
        "١٢٣",
        "1e999",
        "-0",
        "0.001",
        "12.345",
        "NaN",
        "\u2028",
        "\x00",
        "\ud800",
        "x" * 5000,
        "2026-02-30",
        "2026-01-01T00:00:00",
        "NL91ABNA0417164300",
        "EUR",
        "instalment_due",
    ]
)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | _NASTY
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=12) | _NASTY, children, max_size=4)
    ),
    max_leaves=10,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, child in value.items():
            found.append((*prefix, key))
            found.extend(_paths(child, (*prefix, key)))
    return found


def _parent(event: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    node: Any = event
    for key in path[:-1]:
        node = node[key]
    parent: dict[str, Any] = node
    return parent


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event of any type with an id (and references) drawn by hypothesis."""
    event_type = draw(st.sampled_from(EVENT_TYPES))
    event = copy.deepcopy(PAYMENT_EVENTS[event_type])
    event_id = draw(st.uuids()).hex
    event["id"] = f"fz-{event_id}"
    for reference in ("end_to_end_id", "bank_reference"):
        if reference in event["data"]:
            event["data"][reference] = f"{reference}-{event_id}"
    return event


@st.composite
def mutated_events(draw: st.DrawFn) -> Any:
    """A valid event with 0-3 mutations: a field dropped, replaced, added, or the type changed.

    Some survive as valid events, most do not; either way the answer must be right.
    """
    event = draw(valid_events())
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        paths = _paths(event)
        operation = draw(st.sampled_from(["drop", "replace", "add", "retype", "nasty"]))
        if operation == "retype":
            event["type"] = draw(st.sampled_from(EVENT_TYPES) | st.text(max_size=8))
            continue
        path = draw(st.sampled_from(paths))
        parent = _parent(event, path)
        if operation == "drop":
            parent.pop(path[-1], None)
        elif operation == "replace":
            parent[path[-1]] = draw(json_values)
        elif operation == "nasty":
            parent[path[-1]] = draw(_NASTY)
        elif isinstance(parent.get(path[-1]), dict):
            parent[path[-1]][draw(st.text(min_size=1, max_size=700))] = draw(json_scalars)
        else:
            parent[draw(st.text(min_size=1, max_size=30))] = draw(json_scalars)
    return event


def as_json(value: Any) -> bytes:
    """JSON bytes of ``value`` (lone surrogates escaped, as a client library would send them)."""
    return json.dumps(value).encode("utf-8")


raw_bodies = st.binary(max_size=300) | st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from([b"[", b"[{", b'[{"type":', b"{", b"\xef\xbb\xbf[", b"[[[[[[[[", b" "]),
    st.binary(max_size=60),
)
"""Byte strings, many starting like JSON, almost none valid JSON arrays."""
