"""pydantic validation errors turned into the ``FieldError``s of the ingest API and the DLQ."""

from __future__ import annotations

from typing import Final

from pydantic import ValidationError

from schemas.ingest_api import WHOLE_EVENT, FieldError

_TAG_ERRORS: Final = frozenset({"union_tag_invalid", "union_tag_not_found"})
# Follows from another field's error (a default derived from it could not be computed).
_CONSEQUENTIAL_ERRORS: Final = frozenset({"default_factory_not_called"})


def field_errors(exc: ValidationError) -> tuple[FieldError, ...]:
    """Turn a pydantic ``ValidationError`` into ``FieldError``s with event-relative paths.

    Errors from a discriminated union (``PAYMENT_EVENT_ADAPTER``, ``OUTCOME_EVENT_ADAPTER``)
    carry the matched tag as the first path element (``instalment_due.data.amount``);
    it is dropped so that paths name fields of the event. A missing or unknown tag is
    reported at ``type``; an error about the event as a whole at ``$``. Errors that merely
    follow from another one are left out.
    """
    tagged = exc.title.startswith("tagged-union[")
    result = []
    for error in exc.errors(include_url=False, include_input=False, include_context=True):
        if error["type"] in _CONSEQUENTIAL_ERRORS:
            continue
        loc = tuple(error["loc"])
        if tagged and error["type"] in _TAG_ERRORS and not loc:
            loc = ("type",)
        elif tagged and loc:
            loc = loc[1:]
        path = ".".join(str(part) for part in loc) or WHOLE_EVENT
        result.append(FieldError(loc=path, msg=error["msg"]))
    return tuple(result)
