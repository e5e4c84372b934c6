"""The simulator's own TARGET2 calendar (it must not borrow the detector's)."""

from __future__ import annotations

from datetime import date

import pytest

from services.simulator.business_days import (
    add_business_days,
    add_months,
    business_days,
    grace_deadline,
    is_business_day,
    on_or_after,
    on_or_before,
)


def test_domain_example_deadline_crosses_christmas_and_new_year() -> None:
    assert grace_deadline(date(2026, 12, 24)) == date(2027, 1, 4)


@pytest.mark.parametrize(
    "holiday",
    [date(2026, 12, 25), date(2027, 1, 1), date(2027, 3, 26), date(2027, 3, 29), date(2027, 5, 1)],
)
def test_target2_holidays_and_weekends_are_closed(holiday: date) -> None:
    assert not is_business_day(holiday)
    assert not is_business_day(date(2027, 1, 2))  # Saturday


def test_national_holidays_are_target2_business_days() -> None:
    assert is_business_day(date(2027, 4, 27))  # King's Day: TARGET2 settles


def test_grace_deadline_counts_from_the_day_after_and_skips_easter() -> None:
    assert grace_deadline(date(2027, 2, 1)) == date(2027, 2, 8)
    assert grace_deadline(date(2027, 3, 24)) == date(2027, 4, 2)  # Good Friday, Easter Monday


def test_following_and_preceding_business_day() -> None:
    assert on_or_after(date(2027, 1, 1)) == date(2027, 1, 4)
    assert on_or_after(date(2027, 1, 4)) == date(2027, 1, 4)
    assert on_or_before(date(2027, 1, 3)) == date(2026, 12, 31)
    with pytest.raises(ValueError, match=">= 1"):
        add_business_days(date(2027, 1, 4), 0)


def test_business_days_lists_only_open_days() -> None:
    assert business_days(date(2026, 12, 24), date(2027, 1, 4)) == [
        date(2026, 12, 24),
        date(2026, 12, 28),
        date(2026, 12, 29),
        date(2026, 12, 30),
        date(2026, 12, 31),
        date(2027, 1, 4),
    ]


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2026, 12, 15), 12, date(2027, 12, 15)),
        (date(2027, 3, 31), -1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
    ],
)
def test_add_months_clamps_to_the_month_end(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected
