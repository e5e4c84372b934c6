"""Invalid messages on the intervention service's input topics, dead-lettered.

Enrolments and contact preferences come from the bank's pilot administration; a message that
does not fit its contract goes to the dead-letter topic (the same ``DeadLetter`` contract and
topic as ingest's, so one place holds every refused inbound message) with the original bytes,
the field errors and its source position, and the worker goes on. Nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Final

from pydantic import ValidationError

from schemas.dlq import DeadLetter, DeadLetterData
from schemas.errors import field_errors, whole_error
from schemas.ids import deterministic_id

SOURCE: Final = "nazorg/intervention"


def reason_for(raw: bytes) -> str:
    """``invalid_json`` for bytes that are not JSON at all, else ``schema_violation``."""
    try:
        json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return "invalid_json"
    return "schema_violation"


def dead_letter(
    raw: bytes,
    exc: ValidationError,
    *,
    topic: str,
    partition: int,
    offset: int,
    received_at: datetime,
) -> DeadLetter:
    """The dead letter of one refused message; its id is deterministic over the position and
    the bytes, so a redelivered message dead-letters under the same id."""
    reason = reason_for(raw)
    errors = field_errors(exc) if reason == "schema_violation" else (whole_error("is not JSON"),)
    digest = hashlib.sha256(raw).hexdigest()
    data = DeadLetterData.from_bytes(
        raw,
        errors=errors,
        source="kafka",
        reason=reason,
        received_at=received_at,
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
    )
    return DeadLetter(
        id=deterministic_id("dead_lettered", "kafka", topic, str(partition), str(offset), digest),
        source=SOURCE,
        type="dead_lettered",
        time=received_at,
        producedtime=received_at,
        data=data,
    )
