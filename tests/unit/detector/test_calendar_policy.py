"""TARGET2 calendar, month arithmetic and the policy object."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import date
from decimal import Decimal

import pytest

from services.arrears_detector.calendar import (
    add_months,
    business_days,
    grace_deadline,
    is_business_day,
    next_business_day,
)
from services.arrears_detector.policy import DEFAULT_POLICY, DetectionPolicy


@pytest.mark.parametrize(
    "holiday",
    [
        date(2026, 1, 1),
        date(2026, 4, 3),
        date(2026, 4, 6),
        date(2026, 5, 1),
        date(2026, 12, 25),
        date(2027, 3, 26),
        date(2027, 3, 29),
    ],
)
def test_target2_holidays_come_from_the_library(holiday: date) -> None:
    assert holiday.weekday() < 5
    assert not is_business_day(holiday)


def test_a_national_holiday_is_still_a_target2_business_day() -> None:
    assert is_business_day(date(2026, 4, 27))  # King's Day (NL): TARGET2 settles


def test_grace_deadline_domain_example() -> None:
    assert grace_deadline(date(2026, 12, 24), 5) == date(2027, 1, 4)


def test_grace_deadline_skips_easter_and_counts_from_the_day_after() -> None:
    assert grace_deadline(date(2026, 4, 1), 5) == date(2026, 4, 10)
    assert grace_deadline(date(2026, 2, 2), 5) == date(2026, 2, 9)
    assert grace_deadline(date(2026, 2, 7), 1) == date(2026, 2, 9)  # due on a Saturday


def test_grace_zero_is_the_first_business_day_on_or_after_due() -> None:
    assert grace_deadline(date(2026, 2, 2), 0) == date(2026, 2, 2)
    assert grace_deadline(date(2026, 4, 3), 0) == date(2026, 4, 7)
    with pytest.raises(ValueError, match=">= 0"):
        grace_deadline(date(2026, 2, 2), -1)


def test_business_days_and_next_business_day() -> None:
    assert business_days(date(2026, 12, 24), date(2027, 1, 4)) == [
        date(2026, 12, 24),
        date(2026, 12, 28),
        date(2026, 12, 29),
        date(2026, 12, 30),
        date(2026, 12, 31),
        date(2027, 1, 4),
    ]
    assert next_business_day(date(2026, 12, 31)) == date(2027, 1, 4)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 3, 31), -1, date(2024, 2, 29)),
        (date(2026, 1, 14), 12, date(2027, 1, 14)),
        (date(2026, 11, 30), 1, date(2026, 12, 30)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 8, 31), -6, date(2026, 2, 28)),
    ],
)
def test_add_months_clamps_to_month_end(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("dpd", "index"),
    [(0, 0), (1, 0), (30, 0), (31, 1), (60, 1), (61, 2), (90, 2), (91, 3), (400, 3)],
)
def test_buckets(dpd: int, index: int) -> None:
    assert DEFAULT_POLICY.bucket_index(dpd) == index


def test_policy_defaults_are_domain_md() -> None:
    p = DEFAULT_POLICY
    assert (p.grace_business_days, p.tolerance, p.materiality_amount, p.materiality_ratio) == (
        5,
        Decimal("0.00"),
        Decimal("100.00"),
        Decimal("0.01"),
    )
    assert (p.default_after_days, p.default_probation_months, p.distressed_probation_months) == (
        90,
        3,
        12,
    )
    assert (p.relapse_window_months, p.struggle_threshold, p.struggle_window_months) == (12, 2, 6)
    with pytest.raises(FrozenInstanceError):
        p.grace_business_days = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    "bad",
    [
        {"grace_business_days": -1},
        {"tolerance": Decimal("-1")},
        {"tolerance": 0.5},
        {"materiality_ratio": Decimal("1.5")},
        {"bucket_floors": (1, 31, 31, 91)},
        {"bucket_floors": (0, 31, 61, 91)},
        {"struggle_threshold": 0},
    ],
)
def test_policy_refuses_nonsense(bad: dict[str, object]) -> None:
    with pytest.raises((ValueError, TypeError)):
        DetectionPolicy(**bad)  # type: ignore[arg-type]
