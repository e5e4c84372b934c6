"""From outcome events to one row per enrolled client."""

from __future__ import annotations

from datetime import timedelta

from schemas.outcomes import OutcomeEvent
from services.report.build import build_report
from services.report.records import client_outcomes, survival_time

from .factories import START, closed, engagement, enrolled, subject


def test_one_row_per_enrolled_subject_with_its_outcome() -> None:
    rows = client_outcomes(
        [
            enrolled("a", "treatment", "restructured"),
            closed("a", arrears_day=40, relapse=True),
            enrolled("b", "control"),
            closed("b", followup=200, censored=True),
            engagement("a"),
        ]
    )
    by_subject = {row.subject: row for row in rows}
    a, b = by_subject[subject("a")], by_subject[subject("b")]
    assert (a.arm, a.segment, a.closed, a.ever_in_arrears, a.relapse) == (
        "treatment",
        "restructured",
        True,
        True,
        True,
    )
    assert (a.days_to_first_arrears, a.followup_days, a.max_dpd) == (40, 365, 12)
    assert (b.ever_in_arrears, b.censored, b.followup_days) == (False, True, 200)
    assert (a.intended_allocation, a.experiment_key, a.enrolled_at) == (
        0.375,
        "sofie-pilot-2026",
        START,
    )


def test_duplicates_on_the_topic_count_once() -> None:
    events: list[OutcomeEvent] = [
        enrolled("a", "treatment"),
        closed("a", arrears_day=3),
        enrolled("b", "control"),
    ]
    twice = client_outcomes(events + events + [events[1]])
    assert twice == client_outcomes(events)
    report = build_report(twice)
    assert report.enrolled == 2
    assert report.arms["treatment"].with_arrears == 1


def test_a_subject_without_enrolled_is_ignored() -> None:
    rows = client_outcomes(
        [closed("orphan", arrears_day=5), engagement("orphan"), enrolled("a", "control")]
    )
    assert [row.subject for row in rows] == [subject("a")]


def test_clients_not_yet_closed_are_pending() -> None:
    rows = client_outcomes(
        [enrolled("a", "treatment"), enrolled("b", "control"), closed("b", arrears_day=9)]
    )
    pending = [row for row in rows if not row.closed]
    assert [row.subject for row in pending] == [subject("a")]
    assert pending[0].ever_in_arrears is None
    assert pending[0].followup_days is None
    assert survival_time(pending[0]) == (0, False)
    report = build_report(rows)
    assert report.pending == 1
    assert report.arms["treatment"].pending == 1
    assert report.arms["treatment"].n == 0


def test_order_of_events_does_not_matter_and_the_earliest_record_wins() -> None:
    later = START + timedelta(days=1)
    events: list[OutcomeEvent] = [
        closed("a", arrears_day=7),
        enrolled("a", "control", at=later, event_id="second"),
        enrolled("a", "treatment", event_id="first"),
        closed("a", followup=365, event_id="zz-later-close"),
    ]
    (row,) = client_outcomes(events)
    assert (row.arm, row.enrolled_at) == ("treatment", START)
    assert (row.ever_in_arrears, row.days_to_first_arrears) == (True, 7)
    assert client_outcomes(list(reversed(events))) == [row]


def test_survival_time_is_days_to_arrears_or_days_followed() -> None:
    rows = client_outcomes(
        [
            enrolled("a", "treatment"),
            closed("a", arrears_day=12, followup=90, censored=True),
            enrolled("b", "control"),
            closed("b", followup=120, censored=True),
        ]
    )
    assert sorted(survival_time(row) for row in rows) == [(12, True), (120, False)]
