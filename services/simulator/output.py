"""Writing events: NDJSON files and JSON-array bodies for ``POST /v1/events``.

Events are already in canonical form, so their compact JSON is byte-identical to
``schemas.codec.encode`` of the validated model (tested): no pydantic on the hot path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import BinaryIO, Final

from services.simulator.events import Event
from services.simulator.wire import to_json

DEFAULT_BATCH_SIZE: Final = 1000


def encode_event(event: Event) -> bytes:
    """One event as compact JSON (the codec's bytes)."""
    return to_json(event).encode("ascii")


def write_ndjson(events: Iterable[Event], out: BinaryIO) -> int:
    """Write one event per line; returns the number written."""
    count = 0
    for chunk in batches(events, DEFAULT_BATCH_SIZE):
        lines = "\n".join(map(to_json, chunk))
        out.write(lines.encode("ascii") + b"\n")
        count += len(chunk)
    return count


def batches(events: Iterable[Event], size: int = DEFAULT_BATCH_SIZE) -> Iterator[list[Event]]:
    """Consecutive lists of at most ``size`` events, order kept."""
    if size < 1:
        raise ValueError("size must be >= 1")
    iterator = iter(events)
    while chunk := list(islice(iterator, size)):
        yield chunk


def json_array_bodies(events: Iterable[Event], size: int = DEFAULT_BATCH_SIZE) -> Iterator[bytes]:
    """Request bodies for ``POST /v1/events``: JSON arrays of at most ``size`` events.

    Post them in order and wait for each answer: events of one loan must reach ingest in
    booking order, and a tick must not overtake the loan events of its day.
    """
    for chunk in batches(events, size):
        yield ("[" + ",".join(map(to_json, chunk)) + "]").encode("ascii")
