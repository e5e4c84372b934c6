"""Building ``payments.dlq.v1`` records: the original bytes, why they were refused, and where
they came from.

The id is deterministic over the source position and the payload, so a redelivered bad record
is dead-lettered again under the same id (consumers of the DLQ dedupe on it) and a recreated
source topic whose offsets restart cannot collide with an older record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from schemas.codec import encode
from schemas.dlq import DeadLetter, DeadLetterData, IngestSource
from schemas.ids import deterministic_id
from schemas.ingest_api import FieldError
from services.ingest.intake import INVALID_JSON
from services.ingest.publisher import Outgoing
from services.ingest.rejections import whole_event_error

__all__ = [
    "INVALID_JSON",
    "SCHEMA_VIOLATION",
    "SOURCE",
    "Position",
    "as_outgoing",
    "dead_letter",
    "kafka_time",
]

SOURCE: Final = "nazorg/ingest"
SCHEMA_VIOLATION: Final = "schema_violation"


@dataclass(frozen=True, slots=True)
class Position:
    """Where a Kafka record came from."""

    topic: str
    partition: int
    offset: int


def dead_letter(
    raw: bytes,
    *,
    errors: tuple[FieldError, ...],
    reason: str,
    source: IngestSource,
    received_at: datetime,
    event_time: datetime | None = None,
    position: Position | None = None,
    max_payload_bytes: int | None = None,
) -> DeadLetter:
    """The dead letter for ``raw``; ``event_time`` defaults to ``received_at``.

    A payload over ``max_payload_bytes`` is cut to that size, and an error says so: the whole
    original stays at its source position (for Kafka) until the topic's retention ends.
    """
    digest = hashlib.sha256(raw).hexdigest()
    kept = raw
    if max_payload_bytes is not None and len(raw) > max_payload_bytes:
        kept = raw[:max_payload_bytes]
        errors = (
            *errors,
            whole_event_error(
                f"payload cut to its first {max_payload_bytes} of {len(raw)} bytes "
                f"(sha256 of the original: {digest})"
            ),
        )
    where = (position.topic, str(position.partition), str(position.offset)) if position else ()
    data = DeadLetterData.from_bytes(
        kept,
        errors=errors,
        source=source,
        reason=reason,
        received_at=received_at,
        source_topic=position.topic if position else None,
        source_partition=position.partition if position else None,
        source_offset=position.offset if position else None,
    )
    return DeadLetter(
        id=deterministic_id("dead_lettered", source, *where, digest),
        source=SOURCE,
        type="dead_lettered",
        time=event_time or received_at,
        producedtime=received_at,
        data=data,
    )


def as_outgoing(letter: DeadLetter, topic: str) -> Outgoing:
    """The record for the DLQ topic: no key, one copy on one partition."""
    return Outgoing(key=None, value=encode(letter), topic=topic, spread=False)


def kafka_time(timestamp_ms: int | None) -> datetime | None:
    """A Kafka record timestamp as an aware datetime (None when the record has none)."""
    if timestamp_ms is None or timestamp_ms < 0:
        return None
    try:
        return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):  # a producer can set any 64-bit timestamp
        return None
