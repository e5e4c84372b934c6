"""Dates and timezone-aware datetimes that are accepted only in ISO 8601 form.

pydantic's lax mode would read ``1700000000`` (or the string ``"1700000000"``) as a Unix
timestamp and ``"2026-01-01T00:00:00"`` as a date. On a payment contract that turns a
producer bug into a plausible-looking event, so these types accept only ISO strings (or
the matching Python objects from our own code) and reject everything else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from operator import methodcaller
from typing import Annotated, Any, Final

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
DATE_FAST_PATTERN: Final = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_DATE_FAST: Final = re.compile(DATE_FAST_PATTERN)
"""ASCII digits only: the common case, read without the checks the full path makes."""
# RFC 3339 date-time; the offset is optional here only so that a missing one gets its own,
# clearer error. Up to 9 fractional digits are accepted (Java's Instant prints nanoseconds).
_DATETIME_RE: Final = re.compile(
    r"(?P<base>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,9}))?(?P<tz>Z|[+-]\d{2}:\d{2})?"
)
# Date-times with an offset and at most microseconds, the form producers send nearly always
# (a subset of _DATETIME_RE). ``datetime.fromisoformat`` reads them exactly as the full path
# does, and raises on impossible values, which then take the full path (so the error is the
# full path's). tests/unit/schemas/test_fast_paths.py proves the equality.
DATETIME_FAST_PATTERN: Final = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)
_DATETIME_FAST: Final = re.compile(DATETIME_FAST_PATTERN)
_TO_UTC: Final = methodcaller("astimezone", UTC)


def parse_iso_date(value: object) -> date:
    """Accept ``YYYY-MM-DD`` strings and ``date`` objects (not ``datetime``) only."""
    if type(value) is str and _DATE_FAST.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass  # reported by the full path below
    if isinstance(value, datetime):
        raise PydanticCustomError("date_type", "must be a date, not a datetime")
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        raise PydanticCustomError("date_format", "must be an ISO date string YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("date_value", "is not a valid calendar date") from None


def parse_utc_datetime(value: object) -> datetime:
    """Accept RFC 3339 strings with an offset and aware ``datetime`` objects; return UTC.

    Normalising to UTC gives every instant one canonical JSON form, which the
    byte-for-byte replay guarantee relies on. Fractions finer than a microsecond are
    truncated (Python cannot hold them).
    """
    if type(value) is str and _DATETIME_FAST.fullmatch(value):
        try:
            return datetime.fromisoformat(value).astimezone(UTC)
        except (ValueError, OverflowError):
            pass  # reported by the full path below
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        match = _DATETIME_RE.fullmatch(value)
        if match is None:
            raise PydanticCustomError(
                "datetime_format",
                "must be an RFC 3339 date-time string, e.g. 2026-01-31T23:59:59Z",
            )
        if match["tz"] is None:
            raise PydanticCustomError(
                "timezone_aware", "must be timezone-aware, e.g. 2026-01-31T23:59:59Z"
            )
        frac = f".{match['frac'][:6]:0<6}" if match["frac"] else ""
        tz = "+00:00" if match["tz"] == "Z" else match["tz"]
        try:
            parsed = datetime.fromisoformat(f"{match['base']}{frac}{tz}")
        except ValueError:
            raise PydanticCustomError("datetime_value", "is not a valid date-time") from None
    else:
        raise PydanticCustomError(
            "datetime_format", "must be an RFC 3339 date-time string, e.g. 2026-01-31T23:59:59Z"
        )
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise PydanticCustomError(
            "timezone_aware", "must be timezone-aware, e.g. 2026-01-31T23:59:59Z"
        )
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is in year 0 in UTC
        raise PydanticCustomError("datetime_value", "is out of range in UTC") from None


def format_utc_datetime(value: datetime) -> str:
    """Canonical JSON form: ISO 8601 in UTC with a ``Z`` suffix."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


IsoDate = Annotated[
    date,
    PlainValidator(parse_iso_date),
    PlainSerializer(date.isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date"}),
]
"""A calendar date, ``YYYY-MM-DD`` on the wire."""

UtcDatetime = Annotated[
    datetime,
    PlainValidator(parse_utc_datetime),
    PlainSerializer(format_utc_datetime, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A timezone-aware instant, normalised to UTC; naive values are rejected."""


# --- native fast paths (schemas.codec) --------------------------------------------------
# The fast shapes above without a Python-level function: C callables only (``fromisoformat``,
# and ``astimezone(UTC)`` through ``operator.methodcaller``), so the results are the ones the
# validators return (a ``date``; a ``datetime`` in ``datetime.UTC``), and pydantic-core's
# serializers write them as ``date.isoformat`` / ``format_utc_datetime`` do for every value
# the validators return (UTC, ``Z``). Other inputs (other shapes, ``date`` objects, errors)
# are refused here and judged by the validators above through ``schemas.codec``'s fallback.

NATIVE_FAST_PATHS: Final[Mapping[Callable[[Any], Any], CoreSchema]] = {
    parse_iso_date: core_schema.chain_schema(
        [core_schema.str_schema(strict=True, pattern=DATE_FAST_PATTERN), core_schema.date_schema()]
    ),
    parse_utc_datetime: core_schema.chain_schema(
        [
            core_schema.str_schema(strict=True, pattern=DATETIME_FAST_PATTERN),
            core_schema.no_info_plain_validator_function(datetime.fromisoformat),
            core_schema.no_info_plain_validator_function(_TO_UTC),
            core_schema.datetime_schema(strict=True),  # passes it on; the native serializer
        ]
    ),
}
"""Validator → a native schema accepting a subset of its inputs, with the same results."""
