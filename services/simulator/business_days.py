"""TARGET2 business days, the simulator's own copy.

The simulator must not share code with the detector it checks, so it keeps its own small
calendar. Holidays come from the maintained ``holidays`` package
(``financial_holidays("XECB")``: New Year, Good Friday, Easter Monday, 1 May, 25 and 26
December), never from a hand-typed list.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import lru_cache
from typing import Final

import holidays

CALENDAR: Final = "TARGET2"
ONE_DAY: Final = timedelta(days=1)
GRACE_BUSINESS_DAYS: Final = 5
"""domain.md §3: the grace deadline is the 5th TARGET2 business day after the due date."""


@lru_cache(maxsize=64)
def _target2_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.financial_holidays("XECB", years=year))


@lru_cache(maxsize=8192)
def is_business_day(day: date) -> bool:
    """True when TARGET2 settles on ``day``: a weekday that is not a TARGET2 holiday."""
    return day.weekday() < 5 and day not in _target2_holidays(day.year)


def on_or_after(day: date) -> date:
    """The first business day on or after ``day`` (the "following" convention)."""
    while not is_business_day(day):
        day += ONE_DAY
    return day


def on_or_before(day: date) -> date:
    """The last business day on or before ``day``."""
    while not is_business_day(day):
        day -= ONE_DAY
    return day


@lru_cache(maxsize=8192)
def add_business_days(day: date, count: int) -> date:
    """The ``count``-th business day after ``day`` (``day`` itself not counted); ``count`` >= 1."""
    if count < 1:
        raise ValueError("count must be >= 1")
    while count:
        day += ONE_DAY
        if is_business_day(day):
            count -= 1
    return day


def grace_deadline(due: date) -> date:
    """The close of business at which an unpaid instalment is in arrears.

    Example (domain.md): due Thu 24 Dec 2026 -> Mon 4 Jan 2027 (25 Dec and 1 Jan are
    TARGET2 holidays).
    """
    return add_business_days(due, GRACE_BUSINESS_DAYS)


def business_days(first: date, last: date) -> list[date]:
    """Every business day in ``[first, last]``, in order."""
    days: list[date] = []
    day = first
    while day <= last:
        if is_business_day(day):
            days.append(day)
        day += ONE_DAY
    return days


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months, the day of month clamped to the month's end."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def month_start(day: date) -> date:
    """The first calendar day of ``day``'s month."""
    return day.replace(day=1)
