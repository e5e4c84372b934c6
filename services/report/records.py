"""From outcome events to one :class:`ClientOutcome` per enrolled subject.

The outcome topic is at-least-once, so events are deduplicated by id before anything is
counted; a subject is in the analysis exactly when it has an ``enrolled`` record (ITT), and its
``followup_closed`` record, if any, gives the outcome.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from schemas.actions import Arm
from schemas.outcomes import Enrolled, FollowupClosed, OutcomeEvent

__all__ = ["ClientOutcome", "client_outcomes", "survival_time"]

E = TypeVar("E", Enrolled, FollowupClosed)


@dataclass(frozen=True)
class ClientOutcome:
    """One enrolled client; the outcome fields are ``None`` until follow-up is closed."""

    subject: str
    arm: Arm
    segment: str
    intended_allocation: float
    experiment_key: str
    enrolled_at: datetime
    closed: bool
    ever_in_arrears: bool | None
    days_to_first_arrears: int | None
    followup_days: int | None
    censored: bool | None
    relapse: bool | None
    max_dpd: int | None


def client_outcomes(events: Iterable[OutcomeEvent]) -> list[ClientOutcome]:
    """One row per enrolled subject, ordered by enrolment time then subject.

    Duplicates (same event id) count once. Should a subject carry several ``enrolled`` or
    ``followup_closed`` records with different ids, the earliest (by event time, then id) wins:
    an assignment is fixed once made and a follow-up closes once.
    """
    seen: set[str] = set()
    enrolled: dict[str, Enrolled] = {}
    closed: dict[str, FollowupClosed] = {}
    for event in events:
        if event.id in seen:
            continue
        seen.add(event.id)
        if isinstance(event, Enrolled):
            _keep_earliest(enrolled, event.subject, event)
        elif isinstance(event, FollowupClosed):
            _keep_earliest(closed, event.subject, event)
    rows = [_row(enrolment, closed.get(subject)) for subject, enrolment in enrolled.items()]
    return sorted(rows, key=lambda row: (row.enrolled_at, row.subject))


def survival_time(outcome: ClientOutcome) -> tuple[int, bool]:
    """(days, event) for Kaplan-Meier: days to first arrears, else days followed up.

    A client still in follow-up contributes (0, False): censored at day 0, so it stays in the
    intention-to-treat population without claiming any time at risk that is not yet observed.
    """
    if not outcome.closed:
        return 0, False
    if outcome.ever_in_arrears and outcome.days_to_first_arrears is not None:
        return outcome.days_to_first_arrears, True
    return outcome.followup_days or 0, False


def _keep_earliest(kept: dict[str, E], subject: str, event: E) -> None:
    current = kept.get(subject)
    if current is None or (event.time, event.id) < (current.time, current.id):
        kept[subject] = event


def _row(enrolment: Enrolled, closing: FollowupClosed | None) -> ClientOutcome:
    data = enrolment.data
    outcome = closing.data if closing is not None else None
    return ClientOutcome(
        subject=enrolment.subject,
        arm=data.arm,
        segment=data.segment,
        intended_allocation=data.intended_allocation,
        experiment_key=data.experiment_key,
        enrolled_at=enrolment.time,
        closed=outcome is not None,
        ever_in_arrears=outcome.ever_in_arrears if outcome else None,
        days_to_first_arrears=outcome.days_to_first_arrears if outcome else None,
        followup_days=outcome.followup_days if outcome else None,
        censored=outcome.censored if outcome else None,
        relapse=outcome.relapse if outcome else None,
        max_dpd=outcome.max_dpd if outcome else None,
    )
