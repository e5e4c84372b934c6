"""TARGET2 business days (the ECB's settlement calendar) and calendar-month arithmetic.

Holidays come from the maintained ``holidays`` package (``financial_holidays("XECB")``:
New Year, Good Friday, Easter Monday, 1 May, 25 and 26 December), never a hand-typed
list. Every lookup is cached: the detector asks the same few hundred dates millions of
times.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Final

import holidays

CALENDAR: Final = "TARGET2"
_ONE_DAY: Final = timedelta(days=1)


@lru_cache(maxsize=512)
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.financial_holidays("XECB", years=year).keys())


def load_calendar() -> None:
    """Import the holiday library's calendar now (about a second, once per process).

    It is imported on first use otherwise, which put that second inside the first batch a
    worker processes.
    """
    _holidays(2000)


@lru_cache(maxsize=65536)
def is_business_day(day: date) -> bool:
    """True when TARGET2 settles on ``day`` (a weekday that is not a TARGET2 holiday)."""
    return day.weekday() < 5 and day not in _holidays(day.year)


@lru_cache(maxsize=65536)
def grace_deadline(due: date, business_days: int) -> date:
    """The ``business_days``-th TARGET2 business day after ``due`` (``due`` not counted).

    With 0 it is the first business day on or after ``due``. Example (domain.md): due Thu
    2026-12-24 with 5 days -> Mon 2027-01-04, because 25 Dec and 1 Jan are holidays.
    """
    if business_days < 0:
        raise ValueError("business_days must be >= 0")
    day = due
    if business_days == 0:
        while not is_business_day(day):
            day += _ONE_DAY
        return day
    remaining = business_days
    while remaining:
        day += _ONE_DAY
        if is_business_day(day):
            remaining -= 1
    return day


@lru_cache(maxsize=65536)
def canonical(day: date) -> date:
    """One shared ``date`` object per day, so that 100k ledgers holding the same due and
    booking dates hold one object each instead of 100k (dates are immutable)."""
    return day


iso: Final = lru_cache(maxsize=65536)(date.isoformat)
"""``day.isoformat()``, cached: formatting a date costs three times a cache hit, and
snapshots and signal ids format the same few hundred dates over and over."""


def next_business_day(day: date) -> date:
    """The first TARGET2 business day strictly after ``day``."""
    day += _ONE_DAY
    while not is_business_day(day):
        day += _ONE_DAY
    return day


def business_days(first: date, last: date) -> list[date]:
    """All TARGET2 business days in ``[first, last]``, in order (for tick generators)."""
    days: list[date] = []
    day = first
    while day <= last:
        if is_business_day(day):
            days.append(day)
        day += _ONE_DAY
    return days


@lru_cache(maxsize=65536)
def add_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months, the day clamped to the month's end.

    2026-01-31 + 1 month = 2026-02-28. Used for the relapse window, probation and the
    collection-struggle window, which domain.md states in calendar months.
    """
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    first_of_next = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (first_of_next - _ONE_DAY).day
    return date(year, month, min(day.day, last_day))
