"""pydantic validation errors turned into the ``FieldError``s of the ingest API and the DLQ.

Input can be anything, so the errors are bounded: paths and messages are cut to the contract's
limits (an unknown field's name is part of its path and can be any length), at most
``MAX_ERRORS`` per message, and the unknown-tag message does not echo the offending value the
way pydantic's does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from pydantic import ValidationError

from schemas.ingest_api import WHOLE_EVENT, FieldError

MAX_ERRORS: Final = 20
MAX_LOC: Final = 512
MAX_MSG: Final = 1024

_TAG_ERRORS: Final = frozenset({"union_tag_invalid", "union_tag_not_found"})
# Follows from another field's error (a default derived from it could not be computed).
_CONSEQUENTIAL_ERRORS: Final = frozenset({"default_factory_not_called"})


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def whole_error(message: str) -> FieldError:
    """A problem with the message as a whole (not JSON, not an object, ...)."""
    return FieldError(loc=WHOLE_EVENT, msg=clip(message, MAX_MSG))


def relevant_errors(exc: ValidationError) -> list[dict[str, object]]:
    """pydantic's error details without the ones that merely follow from another."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    return [dict(e) for e in errors if e["type"] not in _CONSEQUENTIAL_ERRORS]


def field_errors(exc: ValidationError, tags: Iterable[str] = ()) -> tuple[FieldError, ...]:
    """Turn a pydantic ``ValidationError`` into ``FieldError``s with message-relative paths.

    Errors from a discriminated union (``PAYMENT_EVENT_ADAPTER``, ``OUTCOME_EVENT_ADAPTER``)
    carry the matched tag as the first path element (``instalment_due.data.amount``); it is
    dropped so that paths name fields of the message. A missing or unknown tag is reported at
    ``type`` (naming the valid ``tags`` when given); an error about the message as a whole at
    ``$``. Never empty.
    """
    known = ", ".join(sorted(tags))
    safe = {
        "union_tag_invalid": f"must be one of: {known}" if known else "is not a known type",
        "union_tag_not_found": f"is required, one of: {known}" if known else "is required",
    }
    tagged = exc.title.startswith("tagged-union[")
    details = relevant_errors(exc)
    errors: list[FieldError] = []
    for error in details[:MAX_ERRORS]:
        kind = str(error["type"])
        raw_loc = error["loc"]
        loc: tuple[object, ...] = tuple(raw_loc) if isinstance(raw_loc, tuple | list) else ()
        if tagged and kind in _TAG_ERRORS and not loc:
            loc = ("type",)
        elif tagged and loc:
            loc = loc[1:]
        path = ".".join(str(part) for part in loc) or WHOLE_EVENT
        message = safe.get(kind, str(error["msg"])) or "is invalid"
        errors.append(FieldError(loc=clip(path, MAX_LOC), msg=clip(message, MAX_MSG)))
    if len(details) > MAX_ERRORS:
        errors.append(whole_error(f"and {len(details) - MAX_ERRORS} more errors"))
    return tuple(errors) or (whole_error("is not a valid message"),)
