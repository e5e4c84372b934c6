"""Follow-up outcome: table-driven cases against the simulator's truth definition."""

from __future__ import annotations

import random
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.outcomes import FollowupClosedData
from schemas.vocabulary import SignalType
from services.intervention.followup import (
    SIGNAL_ORDER,
    FollowupResult,
    Observation,
    close_followup,
    followup_end,
)

ENROL = date(2026, 3, 2)  # a Monday
FULL = ENROL + timedelta(days=365)


def obs(loan: str, signal: SignalType, day: date, dpd: int = 0) -> Observation:
    return Observation(loan, signal, day, dpd)


def d(offset: int) -> date:
    return ENROL + timedelta(days=offset)


NEVER = FollowupResult(False, None, None, 0, relapse=False, censored=False, followup_days=365)

CASES: list[tuple[str, list[Observation], date, dict[str, Any]]] = [
    ("never", [], FULL, {}),
    (
        "late payments only: no arrears, but their DPD counts",
        [obs("L1", "late_payment", d(10), 3), obs("L1", "direct_debit_failed", d(40), 0)],
        FULL,
        {"max_dpd": 3},
    ),
    (
        "onset in window",
        [
            obs("L1", "instalment_missed", d(30), 7),
            obs("L1", "arrears_onset", d(30), 7),
            obs("L1", "arrears_escalated", d(55), 32),
            obs("L1", "arrears_cured", d(70), 0),
        ],
        FULL,
        {
            "ever_in_arrears": True,
            "first_arrears_date": d(30),
            "days_to_first_arrears": 30,
            "max_dpd": 32,
        },
    ),
    (
        "onset and cure before enrolment: not in arrears",
        [obs("L1", "arrears_onset", d(-40), 7), obs("L1", "arrears_cured", d(-20), 0)],
        FULL,
        {},
    ),
    (
        "cured on the enrolment day: not in arrears at that close",
        [obs("L1", "arrears_onset", d(-40), 7), obs("L1", "arrears_cured", d(0), 0)],
        FULL,
        {},
    ),
    (
        "onset before enrolment, still open: in arrears from enrolment",
        [obs("L1", "arrears_onset", d(-40), 7), obs("L1", "arrears_escalated", d(-17), 31)],
        FULL,
        {"ever_in_arrears": True, "first_arrears_date": ENROL, "days_to_first_arrears": 0},
    ),
    (
        "onset before enrolment, cured inside: in arrears from enrolment",
        [obs("L1", "arrears_onset", d(-10), 7), obs("L1", "arrears_cured", d(3), 0)],
        FULL,
        {"ever_in_arrears": True, "first_arrears_date": ENROL, "days_to_first_arrears": 0},
    ),
    (
        "onset on the last day counts, the day after does not",
        [obs("L1", "arrears_onset", d(365), 6), obs("L2", "arrears_onset", d(366), 6)],
        date(2027, 6, 1),
        {
            "ever_in_arrears": True,
            "first_arrears_date": d(365),
            "days_to_first_arrears": 365,
            "max_dpd": 6,
        },
    ),
    (
        "onset after the end: ignored",
        [obs("L1", "arrears_onset", d(400), 6), obs("L1", "relapse", d(400), 6)],
        date(2027, 6, 1),
        {},
    ),
    (
        "relapse in window",
        [
            obs("L1", "arrears_onset", d(-30), 6),
            obs("L1", "arrears_cured", d(-5), 0),
            obs("L1", "arrears_onset", d(100), 6),
            obs("L1", "relapse", d(100), 6),
            obs("L1", "arrears_cured", d(120), 0),
        ],
        FULL,
        {
            "ever_in_arrears": True,
            "first_arrears_date": d(100),
            "days_to_first_arrears": 100,
            "max_dpd": 6,
            "relapse": True,
        },
    ),
    (
        "escalation opens arrears when the onset was not observed",
        [obs("L1", "arrears_escalated", d(50), 35)],
        FULL,
        {
            "ever_in_arrears": True,
            "first_arrears_date": d(50),
            "days_to_first_arrears": 50,
            "max_dpd": 35,
        },
    ),
    (
        "a cure without arrears changes nothing",
        [obs("L1", "arrears_cured", d(5), 0)],
        FULL,
        {},
    ),
    (
        "two loans: the earliest first date, max DPD over both",
        [
            obs("L2", "arrears_onset", d(200), 6),
            obs("L2", "default_entered", d(300), 96),
            obs("L1", "arrears_onset", d(90), 6),
            obs("L1", "arrears_cured", d(95), 0),
        ],
        FULL,
        {
            "ever_in_arrears": True,
            "first_arrears_date": d(90),
            "days_to_first_arrears": 90,
            "max_dpd": 96,
        },
    ),
    (
        "censored before any arrears",
        [obs("L1", "arrears_onset", d(200), 6)],
        d(150),
        {"censored": True, "followup_days": 150},
    ),
    (
        "censored after arrears",
        [obs("L1", "arrears_onset", d(100), 6), obs("L1", "arrears_escalated", d(160), 40)],
        d(150),
        {
            "ever_in_arrears": True,
            "first_arrears_date": d(100),
            "days_to_first_arrears": 100,
            "max_dpd": 6,
            "censored": True,
            "followup_days": 150,
        },
    ),
    (
        "DPD before enrolment does not count",
        [obs("L1", "late_payment", d(-3), 20)],
        FULL,
        {},
    ),
]


@pytest.mark.parametrize(
    ("observations", "as_of", "changes"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_cases(observations: list[Observation], as_of: date, changes: dict[str, Any]) -> None:
    expected = FollowupResult(**{**asdict(NEVER), **changes})
    result = close_followup(ENROL, observations, as_of)
    assert result == expected
    FollowupClosedData(**asdict(result))


def test_followup_end_and_period() -> None:
    assert followup_end(ENROL) == date(2027, 3, 2)
    assert followup_end(ENROL, 30) == date(2026, 4, 1)
    result = close_followup(ENROL, [obs("L1", "arrears_onset", d(31), 6)], d(100), period_days=30)
    assert (result.ever_in_arrears, result.censored, result.followup_days) == (False, False, 30)
    with pytest.raises(ValueError, match="before the enrolment"):
        close_followup(ENROL, [], d(-1))


def test_first_close_maps_a_weekend_enrolment_to_the_next_business_day() -> None:
    saturday = date(2026, 3, 7)
    monday = date(2026, 3, 9)

    def next_weekday(day: date) -> date:
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return day

    open_episode = [obs("L1", "arrears_onset", date(2026, 2, 2), 6)]
    cured_monday = [*open_episode, obs("L1", "arrears_cured", monday, 0)]
    plain = close_followup(saturday, open_episode, date(2027, 3, 7))
    assert plain.first_arrears_date == saturday
    calendar = close_followup(saturday, open_episode, date(2027, 3, 7), first_close=next_weekday)
    assert (calendar.first_arrears_date, calendar.days_to_first_arrears) == (monday, 2)
    # In arrears over the weekend but cured at the first close in follow-up: never counted.
    assert not close_followup(
        saturday, cured_monday, date(2027, 3, 7), first_close=next_weekday
    ).ever_in_arrears


def test_signal_order_covers_the_vocabulary() -> None:
    assert sorted(SIGNAL_ORDER) == sorted(get_args(SignalType))


signal_types = st.sampled_from(get_args(SignalType))
observations = st.builds(
    Observation,
    loan_id=st.sampled_from(["L1", "L2"]),
    signal_type=signal_types,
    business_date=st.integers(min_value=-60, max_value=420).map(d),
    dpd=st.integers(min_value=0, max_value=200),
)


@settings(max_examples=200, deadline=None)
@given(
    batch=st.lists(observations, max_size=12),
    as_of=st.integers(min_value=0, max_value=500).map(d),
    seed=st.integers(),
)
def test_any_signals_give_a_valid_order_independent_outcome(
    batch: list[Observation], as_of: date, seed: int
) -> None:
    result = close_followup(ENROL, batch, as_of)
    FollowupClosedData(**asdict(result))  # the contract's consistency rules hold
    shuffled = list(batch)
    random.Random(seed).shuffle(shuffled)
    assert close_followup(ENROL, shuffled, as_of) == result
    end = min(as_of, FULL)
    assert result.followup_days == (end - ENROL).days
    assert result.censored == (as_of < FULL)
    if result.first_arrears_date is not None:
        assert ENROL <= result.first_arrears_date <= end
