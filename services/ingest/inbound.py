"""The Kafka inbound path's pure part: records of ``payments.inbound.v1`` → verdicts and dead
letters.

Each record is one event (UTF-8 JSON). It goes through ``intake.assess`` exactly like an HTTP
batch item; a rejected record (not JSON, not UTF-8, no value, or an invalid event) becomes a
dead letter with its original bytes, its errors and its source position. So for every batch:
records = accepted + duplicate + rejected, and rejected = dead letters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.ingest.batch import Item, parse_json
from services.ingest.deadletter import (
    INVALID_JSON,
    SCHEMA_VIOLATION,
    Position,
    as_outgoing,
    dead_letter,
    kafka_time,
)
from services.ingest.dedupe import DedupeWindow
from services.ingest.intake import Assessment, assess
from services.ingest.publisher import Outgoing


@dataclass(frozen=True, slots=True)
class InboundRecord:
    """What ingest uses of a consumed record (kafka-python's ``ConsumerRecord`` has these)."""

    topic: str
    partition: int
    offset: int
    timestamp: int | None
    """Milliseconds since the epoch, as the record carries it (``None`` or -1: none)."""
    value: bytes | None


@dataclass(slots=True)
class InboundAssessment:
    """Verdicts for a batch of records, plus the dead letters for the rejected ones."""

    assessment: Assessment
    dead_letters: list[Outgoing] = field(default_factory=list)

    @property
    def to_publish(self) -> list[Outgoing]:
        """Events first, then dead letters: both must be acknowledged before the commit."""
        return [*self.assessment.to_publish, *self.dead_letters]


def to_item(index: int, record: InboundRecord) -> Item:
    """Parse one record's value; an unreadable one becomes an item that carries the reason."""
    if record.value is None:
        return Item(index=index, error="record has no value")
    try:
        text = record.value.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Item(index=index, error=f"record is not UTF-8 (byte {exc.start})")
    try:
        return Item(index=index, value=parse_json(text))
    except ValueError as exc:
        return Item(index=index, error=f"record is {exc}")


def assess_records(
    records: Sequence[InboundRecord],
    window: DedupeWindow,
    *,
    dlq_topic: str,
    received_at: datetime,
    max_payload_bytes: int,
) -> InboundAssessment:
    """Judge a batch of records and build a dead letter for each rejected one."""
    assessment = assess([to_item(i, r) for i, r in enumerate(records)], window)
    out = InboundAssessment(assessment=assessment)
    for record, verdict in zip(records, assessment.verdicts, strict=True):
        if verdict.status != "rejected":
            continue
        letter = dead_letter(
            record.value or b"",
            errors=verdict.errors,
            reason=INVALID_JSON if verdict.reason == INVALID_JSON else SCHEMA_VIOLATION,
            source="kafka",
            received_at=received_at,
            event_time=kafka_time(record.timestamp),
            position=Position(record.topic, record.partition, record.offset),
            max_payload_bytes=max_payload_bytes,
        )
        out.dead_letters.append(as_outgoing(letter, dlq_topic))
    return out
