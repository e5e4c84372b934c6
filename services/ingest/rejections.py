"""Why an event was rejected: bounded ``FieldError``s (``schemas.errors``) and metric labels."""

from __future__ import annotations

from typing import Final, get_args

from pydantic import ValidationError

from schemas.errors import MAX_ERRORS, clip, field_errors, relevant_errors, whole_error
from schemas.ingest_api import FieldError
from schemas.payments import PaymentEventType

__all__ = [
    "EVENT_TYPES",
    "MAX_ERRORS",
    "claimed_type",
    "clip",
    "event_errors",
    "rejection_reason",
    "whole_event_error",
]

EVENT_TYPES: Final = frozenset(get_args(PaymentEventType))


def whole_event_error(message: str) -> FieldError:
    """A problem with the item as a whole (not JSON, not an object)."""
    return whole_error(message)


def event_errors(exc: ValidationError) -> tuple[FieldError, ...]:
    """The errors of a failed payment-event validation, bounded; never empty."""
    return field_errors(exc, EVENT_TYPES)


def rejection_reason(exc: ValidationError) -> str:
    """A bounded metric label: pydantic's (or our contract's) type of the first error."""
    relevant = relevant_errors(exc) or [dict(e) for e in exc.errors(include_url=False)]
    return str(relevant[0]["type"]) if relevant else "invalid"


def claimed_type(value: object) -> str:
    """The event type an item claims, as a bounded metric label (``unknown`` if none)."""
    claimed = value.get("type") if isinstance(value, dict) else None
    return claimed if isinstance(claimed, str) and claimed in EVENT_TYPES else "unknown"
