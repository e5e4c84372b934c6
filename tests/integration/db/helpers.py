"""Small builders shared by the database contract tests."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from services.intervention.repository import OutcomeRow, Position

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def pseudonym(client: str) -> str:
    """A valid outcome subject: 64 lowercase hex characters."""
    return hashlib.sha256(client.encode()).hexdigest()


def position(offset: int, *, partition: int = 0, consumer: str = "intervention") -> Position:
    return Position(
        consumer=consumer, topic="arrears.signals.v1", partition=partition, offset=offset
    )


def outcome(
    event_id: str,
    *,
    client: str = "client-1",
    time: datetime = T0,
    arm: str | None = "treatment",
    type_: str = "arrears_onset",
) -> OutcomeRow:
    subject = pseudonym(client)
    payload = json.dumps(
        {"id": event_id, "type": type_, "subject": subject, "time": time.isoformat()},
        separators=(",", ":"),
    )
    return OutcomeRow(id=event_id, subject=subject, type=type_, time=time, arm=arm, payload=payload)
