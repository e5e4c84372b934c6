"""Deciding each item's fate: rejected (with field and reason), duplicate, or to be published.

Pure apart from the dedupe window it reads (it never writes it: only acknowledged events are
remembered, by the pipeline). Every input path (HTTP, Kafka, ISO 20022) goes through ``assess``,
so every path validates and dedupes the same way. It never raises on any item: whatever a
client sends ends as exactly one verdict.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from pydantic import ValidationError

from schemas.codec import encode_payment_event, validate_payment_event
from schemas.ingest_api import FieldError, IngestResult, IngestStatus
from schemas.payments import BusinessDayClosed, PaymentEvent
from schemas.sepa import ReasonCategory
from services.ingest.batch import Item
from services.ingest.dedupe import DedupeWindow
from services.ingest.publisher import Outgoing
from services.ingest.rejections import (
    claimed_type,
    event_errors,
    rejection_reason,
    whole_event_error,
)

INVALID_JSON: Final = "invalid_json"
"""Rejection reason of an item that is not JSON at all."""
_IDENTIFIER: Final = re.compile(r"[!-~]{1,128}")


class Verdict(NamedTuple):
    """The fate of one item, with what publishing it takes when it is accepted.

    A named tuple rather than a frozen dataclass: as immutable, and a quarter of the cost to
    build, which every event of every batch pays. It holds the fields of its ``IngestResult``
    rather than the model: validating one model per accepted event cost as much as encoding
    the event, and the HTTP answer is written from these fields (``services.ingest.answer``).
    """

    item_index: int
    """The item's place in its batch (``index`` of the result)."""
    event_id: str | None
    """The event's ``id`` when it could be read (always, unless rejected)."""
    status: IngestStatus
    event_type: str
    """A known event type, or ``unknown`` for a rejection that names none (metric label)."""
    reason: str = ""
    """Why it was rejected (``invalid_json`` or the first validation error type); a label."""
    errors: tuple[FieldError, ...] = ()
    """Why it was rejected, field by field; empty unless ``status`` is ``rejected``."""
    outgoing: Outgoing | None = None
    """The canonical record to publish; set exactly for accepted items."""
    keys: tuple[str, ...] = ()
    """Dedupe keys to remember once ``outgoing`` is acknowledged."""
    unknown_reason_code: bool = False
    """Accepted with a SEPA reason code we hold no rule for (category ``unknown``)."""

    @property
    def result(self) -> IngestResult:
        """The contract's record of this verdict, validated."""
        return IngestResult(
            index=self.item_index, event_id=self.event_id, status=self.status, errors=self.errors
        )


@dataclass(slots=True)
class Assessment:
    """The verdict on every item of a batch, in batch order."""

    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def results(self) -> list[IngestResult]:
        return [verdict.result for verdict in self.verdicts]

    @property
    def accepted(self) -> list[Verdict]:
        return [verdict for verdict in self.verdicts if verdict.outgoing is not None]

    @property
    def to_publish(self) -> list[Outgoing]:
        return [verdict.outgoing for verdict in self.verdicts if verdict.outgoing is not None]

    @property
    def keys(self) -> list[str]:
        return [key for verdict in self.accepted for key in verdict.keys]

    @property
    def accepted_types(self) -> list[str]:
        return [verdict.event_type for verdict in self.accepted]

    @property
    def rejections(self) -> list[str]:
        return [v.reason for v in self.verdicts if v.status == "rejected"]


def _optional_field(event: PaymentEvent, name: str) -> Any:
    """A payload field only some event types have.

    Read from ``__dict__``: ``getattr`` with a default on a pydantic model goes through its slow
    missing-attribute path, which cost a quarter of ingest's time per event.
    """
    return event.data.__dict__.get(name)


def dedupe_keys(event: PaymentEvent) -> tuple[str, ...]:
    """The event id, plus end-to-end id with the bank's entry reference where both exist."""
    data = event.data.__dict__
    end_to_end = data.get("end_to_end_id")
    reference = data.get("bank_reference")
    if end_to_end and reference:
        return (f"id:{event.id}", f"ref:{event.type}:{end_to_end}:{reference}")
    return (f"id:{event.id}",)


def routing_key(event: PaymentEvent) -> bytes | None:
    """Loan events are keyed by loan id; the end-of-day tick goes to every partition (None).

    ``schemas.topics.partition_key`` restricted to payment events (every one but the tick has
    a ``LoanEventData`` payload), without its chain of ``isinstance`` checks; a unit test
    holds the two equal for every event type.
    """
    if type(event) is BusinessDayClosed:
        return None
    return event.data.loan_id.encode("utf-8")  # type: ignore[union-attr]


def readable_id(value: object) -> str | None:
    """The ``id`` of a rejected item when it is a well-formed identifier, for the answer."""
    candidate = value.get("id") if isinstance(value, dict) else None
    if isinstance(candidate, str) and _IDENTIFIER.fullmatch(candidate):
        return candidate
    return None


_UNKNOWN: Final = ReasonCategory.UNKNOWN


def _has_unknown_reason_code(event: PaymentEvent) -> bool:
    # Validated categories are the enum's members, so identity is equality.
    return _optional_field(event, "reason_category") is _UNKNOWN


def judge(item: Item, window: DedupeWindow, batch_keys: set[str]) -> Verdict:
    """The verdict on one item given what was published before and earlier in its batch."""
    event = item.event
    if event is None:
        if item.error is not None:
            errors = (whole_event_error(item.error),)
            return Verdict(item.index, None, "rejected", "unknown", INVALID_JSON, errors)
        try:
            event = validate_payment_event(item.value)
        except ValidationError as exc:
            return Verdict(
                item.index,
                readable_id(item.value),
                "rejected",
                claimed_type(item.value),
                rejection_reason(exc),
                event_errors(exc),
            )
    keys = dedupe_keys(event)
    if window.seen(keys) or not batch_keys.isdisjoint(keys):
        return Verdict(item.index, event.id, "duplicate", event.type)
    return Verdict(
        item.index,
        event.id,
        "accepted",
        event.type,
        "",
        (),
        Outgoing(routing_key(event), encode_payment_event(event)),
        keys,
        _has_unknown_reason_code(event),
    )


def assess(items: Sequence[Item], window: DedupeWindow) -> Assessment:
    """Validate and dedupe a batch; a repeat inside the batch is a duplicate too."""
    out = Assessment()
    batch_keys: set[str] = set()
    for item in items:
        verdict = judge(item, window, batch_keys)
        batch_keys.update(verdict.keys)
        out.verdicts.append(verdict)
    return out
