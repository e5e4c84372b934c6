"""Draft events to validated canonical ``PaymentEvent``s: id, time, source, contract check.

- ``id``: ``deterministic_id`` over the message kind, event type, end-to-end id and bank
  reference (see the mappers for the exact parts), so a re-imported file yields the same ids
  and ingest's dedupe reports them as duplicates.
- ``time``: the booking date at 00:00 Europe/Amsterdam, in UTC. The file gives a day, not an
  instant; the start of the Dutch business day keeps the event inside that day everywhere.
- ``source``: ``bank/iso20022/<kind>``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Final

from pydantic import ValidationError

from schemas.errors import field_errors
from schemas.ids import deterministic_id
from schemas.ingest_api import FieldError
from schemas.payments import PAYMENT_EVENT_ADAPTER, PaymentEvent
from services.ingest.iso20022.outcomes import AMSTERDAM, Draft, Failure

SOURCE_PREFIX: Final = "bank/iso20022/"
ID_NAMESPACE: Final = "iso20022"
CONTRACT_VIOLATION: Final = "contract_violation"


def event_time(booking_date: date) -> datetime:
    """Midnight in Amsterdam on ``booking_date``, as a UTC instant."""
    return datetime.combine(booking_date, time(0), tzinfo=AMSTERDAM).astimezone(UTC)


def event_id(draft: Draft) -> str:
    return deterministic_id(ID_NAMESPACE, *draft.id_parts)


def to_event(draft: Draft, kind: str, location: str) -> PaymentEvent | Failure:
    """Validate the draft as a payments.events.v1 message (the contract is the last word)."""
    try:
        identifier = event_id(draft)
    except ValueError:
        return Failure(
            "identifier_invalid",
            (FieldError(loc=location, msg="an identifier contains a forbidden character"),),
        )
    envelope = {
        "id": identifier,
        "source": SOURCE_PREFIX + kind,
        "type": draft.event_type,
        "time": event_time(draft.booking_date),
        "data": draft.data,
    }
    try:
        return PAYMENT_EVENT_ADAPTER.validate_python(envelope)
    except ValidationError as exc:
        return Failure(
            CONTRACT_VIOLATION,
            tuple(
                FieldError(loc=f"{location}#event.{error.loc}", msg=error.msg)
                for error in field_errors(exc)
            ),
        )
