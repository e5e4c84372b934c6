"""Why an event was rejected, as ``FieldError``s that always fit the contract.

Follows ``schemas.errors.field_errors`` (event-relative paths, a missing or unknown ``type``
reported at ``type``, consequential errors left out) and adds what an API facing arbitrary input
needs: paths and messages are cut to the contract's limits (an unknown field's name is part of
its path and can be any length), at most ``MAX_ERRORS`` per event, and the unknown-tag message
does not echo the offending value the way pydantic's does.
"""

from __future__ import annotations

from typing import Final, get_args

from pydantic import ValidationError

from schemas.ingest_api import WHOLE_EVENT, FieldError
from schemas.payments import PaymentEventType

MAX_ERRORS: Final = 20
MAX_LOC: Final = 512
MAX_MSG: Final = 1024
EVENT_TYPES: Final = frozenset(get_args(PaymentEventType))

_TAG_ERRORS: Final = frozenset({"union_tag_invalid", "union_tag_not_found"})
_CONSEQUENTIAL_ERRORS: Final = frozenset({"default_factory_not_called"})
_SAFE_MESSAGES: Final = {
    "union_tag_invalid": "must be one of: " + ", ".join(sorted(EVENT_TYPES)),
    "union_tag_not_found": "is required: the event type, one of: " + ", ".join(sorted(EVENT_TYPES)),
}


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def whole_event_error(message: str) -> FieldError:
    """A problem with the item as a whole (not JSON, not an object)."""
    return FieldError(loc=WHOLE_EVENT, msg=clip(message, MAX_MSG))


def event_errors(exc: ValidationError) -> tuple[FieldError, ...]:
    """The errors of a failed event validation, bounded in number and size; never empty."""
    tagged = exc.title.startswith("tagged-union[")
    details = [
        error
        for error in exc.errors(include_url=False, include_input=False, include_context=False)
        if error["type"] not in _CONSEQUENTIAL_ERRORS
    ]
    errors: list[FieldError] = []
    for error in details[:MAX_ERRORS]:
        loc = tuple(error["loc"])
        if tagged and error["type"] in _TAG_ERRORS and not loc:
            loc = ("type",)
        elif tagged and loc:
            loc = loc[1:]
        path = ".".join(str(part) for part in loc) or WHOLE_EVENT
        message = _SAFE_MESSAGES.get(error["type"], error["msg"]) or "is invalid"
        errors.append(FieldError(loc=clip(path, MAX_LOC), msg=clip(message, MAX_MSG)))
    if len(details) > MAX_ERRORS:
        errors.append(whole_event_error(f"and {len(details) - MAX_ERRORS} more errors"))
    return tuple(errors) or (whole_event_error("is not a valid payment event"),)


def rejection_reason(exc: ValidationError) -> str:
    """A bounded metric label: pydantic's (or our contract's) type of the first error."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    relevant = [e for e in errors if e["type"] not in _CONSEQUENTIAL_ERRORS] or errors
    return str(relevant[0]["type"]) if relevant else "invalid"


def claimed_type(value: object) -> str:
    """The event type an item claims, as a bounded metric label (``unknown`` if none)."""
    claimed = value.get("type") if isinstance(value, dict) else None
    return claimed if isinstance(claimed, str) and claimed in EVENT_TYPES else "unknown"
