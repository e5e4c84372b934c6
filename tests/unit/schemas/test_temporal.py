from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import TypeAdapter, ValidationError

from schemas.temporal import IsoDate, UtcDatetime

DATE = TypeAdapter(IsoDate)
DATETIME = TypeAdapter(UtcDatetime)


def test_datetimes_are_normalised_to_utc_with_a_z_suffix() -> None:
    parsed = DATETIME.validate_json('"2026-03-02T09:30:00+01:00"')
    assert parsed == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    assert parsed.tzinfo is UTC
    assert DATETIME.dump_json(parsed) == b'"2026-03-02T08:30:00Z"'


def test_aware_python_datetimes_are_accepted_and_converted() -> None:
    cet = timezone(timedelta(hours=1))
    assert DATETIME.validate_python(datetime(2026, 1, 1, 1, tzinfo=cet)) == datetime(
        2026, 1, 1, tzinfo=UTC
    )


def test_nanosecond_fractions_are_truncated_to_microseconds() -> None:
    parsed = DATETIME.validate_json('"2026-03-02T09:30:00.123456789Z"')
    assert parsed.microsecond == 123456


@pytest.mark.parametrize("raw", ['"2026-03-02T09:30:00"', '"2026-03-02T09:30:00.5"'])
def test_naive_datetime_strings_are_rejected(raw: str) -> None:
    with pytest.raises(ValidationError) as info:
        DATETIME.validate_json(raw)
    assert info.value.errors()[0]["type"] == "timezone_aware"


def test_naive_python_datetimes_are_rejected() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        DATETIME.validate_python(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    "raw", ["1700000000", '"1700000000"', '"2026-03-02"', '"02-03-2026T10:00:00Z"', "null"]
)
def test_timestamps_and_other_shapes_are_not_datetimes(raw: str) -> None:
    with pytest.raises(ValidationError):
        DATETIME.validate_json(raw)


def test_dates_round_trip() -> None:
    assert DATE.validate_json('"2026-12-24"') == date(2026, 12, 24)
    assert DATE.dump_json(date(2026, 12, 24)) == b'"2026-12-24"'


@pytest.mark.parametrize(
    "raw", ['"2026-02-30"', '"2026-03-02T00:00:00"', '"20260302"', "20260302", "1700000000"]
)
def test_only_real_iso_dates_are_dates(raw: str) -> None:
    with pytest.raises(ValidationError):
        DATE.validate_json(raw)


def test_a_datetime_object_is_not_a_date() -> None:
    with pytest.raises(ValidationError, match="not a datetime"):
        DATE.validate_python(datetime(2026, 3, 2, tzinfo=UTC))
