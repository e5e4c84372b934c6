"""Deciding each event's fate: rejected (with field and reason), duplicate, or to be published.

Pure apart from the dedupe window it is handed; the HTTP and Kafka shells share it, so every input
path validates the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from schemas.codec import encode
from schemas.ingest_api import FieldError, IngestResult
from schemas.payments import PAYMENT_EVENT_ADAPTER, PaymentEvent
from services.ingest.batch import Item
from services.ingest.dedupe import DedupeWindow
from services.ingest.publisher import Outgoing


@dataclass(slots=True)
class Assessment:
    """The fate of every item, and what must be published for the accepted ones."""

    results: list[IngestResult] = field(default_factory=list)
    to_publish: list[Outgoing] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    accepted_types: list[str] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)


def dedupe_keys(event: PaymentEvent) -> list[str]:
    """The event id, plus end-to-end id with the bank's entry reference where both exist."""
    keys = [f"id:{event.id}"]
    data = event.data
    end_to_end = getattr(data, "end_to_end_id", None)
    reference = getattr(data, "bank_reference", None)
    if end_to_end and reference:
        keys.append(f"ref:{event.type}:{end_to_end}:{reference}")
    return keys


def routing_key(event: PaymentEvent) -> bytes | None:
    """Loan events are keyed by loan id; the end-of-day tick goes to every partition (None)."""
    loan_id = getattr(event.data, "loan_id", None)
    return loan_id.encode("utf-8") if loan_id is not None else None


def field_errors(exc: ValidationError, value: Any) -> list[FieldError]:
    """Pydantic errors as dotted field paths, without the union tag pydantic inserts."""
    tag = value.get("type") if isinstance(value, dict) else None
    errors: list[FieldError] = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [str(part) for part in error["loc"]]
        if loc and tag is not None and loc[0] == str(tag):
            loc = loc[1:]
        errors.append(FieldError(loc=".".join(loc) or "$", msg=error["msg"]))
    return errors


def rejection_reason(exc: ValidationError) -> str:
    """A bounded label for metrics: pydantic's error type of the first error."""
    return str(exc.errors(include_url=False)[0]["type"])


def assess(items: Sequence[Item], window: DedupeWindow) -> Assessment:
    """Validate and dedupe a batch; duplicates inside the batch count as duplicates too."""
    out = Assessment()
    batch_keys: set[str] = set()
    for item in items:
        if item.error is not None:
            out.results.append(
                IngestResult(
                    index=item.index,
                    status="rejected",
                    errors=[FieldError(loc="$", msg=item.error)],
                )
            )
            out.rejections.append("json_invalid")
            continue
        try:
            event = PAYMENT_EVENT_ADAPTER.validate_python(item.value)
        except ValidationError as exc:
            event_id = item.value.get("id") if isinstance(item.value, dict) else None
            out.results.append(
                IngestResult(
                    index=item.index,
                    event_id=event_id if isinstance(event_id, str) else None,
                    status="rejected",
                    errors=field_errors(exc, item.value),
                )
            )
            out.rejections.append(rejection_reason(exc))
            continue
        keys = dedupe_keys(event)
        if window.seen(keys) or any(key in batch_keys for key in keys):
            out.results.append(
                IngestResult(index=item.index, event_id=event.id, status="duplicate")
            )
            continue
        batch_keys.update(keys)
        out.keys.extend(keys)
        out.accepted_types.append(event.type)
        out.to_publish.append(Outgoing(key=routing_key(event), value=encode(event)))
        out.results.append(IngestResult(index=item.index, event_id=event.id, status="accepted"))
    return out
