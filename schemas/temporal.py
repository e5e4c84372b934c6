"""Dates and timezone-aware datetimes that are accepted only in ISO 8601 form.

pydantic's lax mode would read ``1700000000`` (or the string ``"1700000000"``) as a Unix
timestamp and ``"2026-01-01T00:00:00"`` as a date. On a payment contract that turns a
producer bug into a plausible-looking event, so these types accept only ISO strings (or
the matching Python objects from our own code) and reject everything else.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Final

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
# RFC 3339 date-time; the offset is optional here only so that a missing one gets its own,
# clearer error. Up to 9 fractional digits are accepted (Java's Instant prints nanoseconds).
_DATETIME_RE: Final = re.compile(
    r"(?P<base>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,9}))?(?P<tz>Z|[+-]\d{2}:\d{2})?"
)


def parse_iso_date(value: object) -> date:
    """Accept ``YYYY-MM-DD`` strings and ``date`` objects (not ``datetime``) only."""
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
    return parsed.astimezone(UTC)


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
