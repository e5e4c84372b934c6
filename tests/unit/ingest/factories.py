"""Valid payment events as the bank would send them (parsed JSON), with fresh ids on demand.

Built from the schema examples; every call gets a unique ``id`` and unique bank references,
so events of different tests never dedupe against each other.
"""

from __future__ import annotations

import copy
import itertools
import json
import uuid
from collections.abc import Iterable
from typing import Any

from tests.unit.schemas.examples import PAYMENT_EVENTS

EVENT_TYPES = tuple(PAYMENT_EVENTS)
LOAN_EVENT_TYPES = tuple(t for t in EVENT_TYPES if t != "business_day_closed")
_counter = itertools.count()
_RUN = uuid.uuid4().hex[:8]


def unique(prefix: str) -> str:
    """An identifier no other call in this test run returns."""
    return f"{prefix}-{_RUN}-{next(_counter)}"


def event(event_type: str = "instalment_due", **data: Any) -> dict[str, Any]:
    """A valid event of ``event_type`` with a fresh id and references; ``data`` overrides."""
    value = copy.deepcopy(PAYMENT_EVENTS[event_type])
    value["id"] = unique(event_type)
    payload = value["data"]
    for reference in ("end_to_end_id", "bank_reference"):
        if reference in payload:
            payload[reference] = unique(reference)
    if "loan_id" in payload:
        payload["loan_id"] = unique("L")
    payload.update(data)
    return value


def one_of_each() -> list[dict[str, Any]]:
    """One fresh valid event of every type."""
    return [event(event_type) for event_type in EVENT_TYPES]


def as_array(events: Iterable[Any]) -> bytes:
    return json.dumps(list(events)).encode("utf-8")


def as_ndjson(events: Iterable[Any]) -> bytes:
    return "".join(json.dumps(e) + "\n" for e in events).encode("utf-8")
