"""The pilot's primary outcome per client, from the detector's signals alone.

Same definition as the simulator's ground truth (``services/simulator/truth.py``): a
client was in arrears during follow-up when any of its loans was in arrears at a
business-day close X with enrolment_date <= X <= followup_end. Both arms are measured
from the same source (the bank's payment events via the detector), never from coaching
contacts, so the comparison is unbiased (domain.md §1).

Per loan, arrears run from ``arrears_onset``/``relapse`` up to (not including) the close
of ``arrears_cured``. ``instalment_missed``, ``arrears_escalated`` and ``default_entered``
are only raised while a loan is in arrears, so they also open an episode if its onset was
not observed. Signals before enrolment count: they tell whether a loan entered follow-up
already in arrears.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from schemas.vocabulary import SignalType

FULL_PERIOD_DAYS: Final = 365

SIGNAL_ORDER: Final[tuple[SignalType, ...]] = (
    # Event-driven signals first, then the detector's order within one close.
    "late_payment",
    "partial_payment",
    "direct_debit_failed",
    "direct_debit_refunded",
    "mandate_broken",
    "collection_struggle",
    "instalment_missed",
    "arrears_onset",
    "relapse",
    "arrears_escalated",
    "arrears_cured",
    "default_entered",
    "default_cured",
)
"""Tie-break of observations on one business date (so unordered input gives one result)."""
_RANK: Final[dict[SignalType, int]] = {signal: rank for rank, signal in enumerate(SIGNAL_ORDER)}
_OPENS: Final[frozenset[SignalType]] = frozenset(
    {"arrears_onset", "relapse", "instalment_missed", "arrears_escalated", "default_entered"}
)
_CLOSES: Final[frozenset[SignalType]] = frozenset({"arrears_cured"})


@dataclass(frozen=True, slots=True)
class Observation:
    """One detector signal of one of the client's loans."""

    loan_id: str
    signal_type: SignalType
    business_date: date
    dpd: int

    def __post_init__(self) -> None:
        if self.dpd < 0:
            raise ValueError("dpd must be >= 0")


@dataclass(frozen=True)
class FollowupResult:
    """Field for field ``schemas.outcomes.FollowupClosedData``."""

    ever_in_arrears: bool
    first_arrears_date: date | None
    days_to_first_arrears: int | None
    max_dpd: int
    relapse: bool
    censored: bool
    followup_days: int


def followup_end(enrolment_date: date, period_days: int = FULL_PERIOD_DAYS) -> date:
    """Last day of a full follow-up (inclusive)."""
    if period_days <= 0:
        raise ValueError("period_days must be positive")
    return enrolment_date + timedelta(days=period_days)


def _sort_key(o: Observation) -> tuple[date, int, str]:
    return (o.business_date, _RANK[o.signal_type], o.loan_id)


def _episodes(observations: list[Observation]) -> list[tuple[date, date | None]]:
    """Arrears episodes [start, cure) per loan, from signals in sorted order."""
    open_since: dict[str, date] = {}
    episodes: list[tuple[date, date | None]] = []
    for o in observations:
        if o.signal_type in _OPENS and o.loan_id not in open_since:
            open_since[o.loan_id] = o.business_date
        elif o.signal_type in _CLOSES and o.loan_id in open_since:
            episodes.append((open_since.pop(o.loan_id), o.business_date))
    episodes.extend((start, None) for start in open_since.values())
    return episodes


def close_followup(
    enrolment_date: date,
    observations: Iterable[Observation],
    as_of: date,
    period_days: int = FULL_PERIOD_DAYS,
    *,
    first_close: Callable[[date], date] | None = None,
) -> FollowupResult:
    """The outcome of a follow-up that ends at the full end, or at ``as_of`` if earlier
    (then ``censored``, for Kaplan-Meier).

    ``first_close`` maps a date to the first business-day close on or after it (e.g. the
    TARGET2 calendar). Without it every day counts as a close, so a loan already in
    arrears at enrolment has ``first_arrears_date = enrolment_date``; with it, that date
    is the first close on or after enrolment, as in the simulator's truth when
    enrolment falls on a weekend or holiday.
    """
    if as_of < enrolment_date:
        raise ValueError("as_of lies before the enrolment date")
    full_end = followup_end(enrolment_date, period_days)
    censored = as_of < full_end
    end = as_of if censored else full_end
    ordered = sorted(observations, key=_sort_key)

    start = first_close(enrolment_date) if first_close else enrolment_date
    first: date | None = None
    for onset, cure in _episodes(ordered):
        # In arrears at the closes X with onset <= X < cure; the first such X in follow-up:
        candidate = max(onset, start)
        if candidate <= end and (cure is None or candidate < cure):
            first = candidate if first is None else min(first, candidate)

    in_window = [o for o in ordered if enrolment_date <= o.business_date <= end]
    return FollowupResult(
        ever_in_arrears=first is not None,
        first_arrears_date=first,
        days_to_first_arrears=None if first is None else (first - enrolment_date).days,
        max_dpd=max((o.dpd for o in in_window), default=0),
        relapse=first is not None and any(o.signal_type == "relapse" for o in in_window),
        censored=censored,
        followup_days=(end - enrolment_date).days,
    )
