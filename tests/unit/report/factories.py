"""Outcome events and client rows for the report's tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from schemas.outcomes import (
    Engagement,
    EngagementData,
    Enrolled,
    EnrolledData,
    FollowupClosed,
    FollowupClosedData,
)
from services.report.records import ClientOutcome

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
EXPERIMENT = "sofie-pilot-2026"
SEGMENTS = ("prevention", "collection_struggle", "restructured", "interest_only_high_risk")
Arm = Literal["treatment", "control"]


def subject(name: str) -> str:
    """A valid pseudonym (64 lowercase hex) for a readable test name."""
    return hashlib.sha256(name.encode()).hexdigest()


def enrolled(
    name: str,
    arm: Arm,
    segment: str = "prevention",
    *,
    allocation: float = 0.375,
    at: datetime = START,
    event_id: str | None = None,
    experiment: str = EXPERIMENT,
) -> Enrolled:
    return Enrolled(
        id=event_id or f"enrolled-{name}",
        source="nazorg/intervention",
        type="enrolled",
        time=at,
        subject=subject(name),
        data=EnrolledData(
            arm=arm,
            segment=segment,
            intended_allocation=allocation,
            assignment_version="hash-v1",
            experiment_key=experiment,
        ),
    )


def closed(
    name: str,
    *,
    arrears_day: int | None = None,
    followup: int = 365,
    censored: bool = False,
    relapse: bool = False,
    event_id: str | None = None,
) -> FollowupClosed:
    first = date(2026, 1, 5) + timedelta(days=arrears_day) if arrears_day is not None else None
    return FollowupClosed(
        id=event_id or f"closed-{name}",
        source="nazorg/intervention",
        type="followup_closed",
        time=START + timedelta(days=followup),
        subject=subject(name),
        data=FollowupClosedData(
            ever_in_arrears=arrears_day is not None,
            first_arrears_date=first,
            days_to_first_arrears=arrears_day,
            max_dpd=12 if arrears_day is not None else 0,
            relapse=relapse,
            censored=censored,
            followup_days=followup,
        ),
    )


def engagement(name: str) -> Engagement:
    return Engagement(
        id=f"engagement-{name}",
        source="nazorg/intervention",
        type="engagement",
        time=START + timedelta(days=3),
        subject=subject(name),
        data=EngagementData(channel="app", kind="opened"),
    )


def client(
    name: str,
    arm: Arm,
    segment: str = "prevention",
    *,
    arrears_day: int | None = None,
    followup: int | None = 365,
    censored: bool = False,
    relapse: bool = False,
    allocation: float = 0.375,
) -> ClientOutcome:
    """A client row; ``followup=None`` means still in follow-up (not closed)."""
    is_closed = followup is not None
    return ClientOutcome(
        subject=subject(name),
        arm=arm,
        segment=segment,
        intended_allocation=allocation,
        experiment_key=EXPERIMENT,
        enrolled_at=START,
        closed=is_closed,
        ever_in_arrears=(arrears_day is not None) if is_closed else None,
        days_to_first_arrears=arrears_day if is_closed else None,
        followup_days=followup,
        censored=censored if is_closed else None,
        relapse=relapse if is_closed else None,
        max_dpd=(12 if arrears_day is not None else 0) if is_closed else None,
    )


def seed_cohort(allocation: float = 0.375) -> list[ClientOutcome]:
    """The seed's figures as whole counts: treatment 39/160, control 218/268, all closed after
    a full year, segments in rotation, arrears onsets spread over the year, some relapses."""
    rows = []
    for arm, n, with_arrears in (("treatment", 160, 39), ("control", 268, 218)):
        for i in range(n):
            day = (i * 37) % 360 + 1 if i < with_arrears else None
            rows.append(
                client(
                    f"{arm}-{i}",
                    arm,  # type: ignore[arg-type]
                    SEGMENTS[i % 4],
                    arrears_day=day,
                    relapse=day is not None and i % 3 == 0,
                    allocation=allocation,
                )
            )
    return rows


def censored_cohort() -> list[ClientOutcome]:
    """A small cohort with early exits (censored), a client censored after arrears, and
    clients still in follow-up, over two segments."""
    t: Arm = "treatment"
    c: Arm = "control"
    return [
        client("t1", t, arrears_day=30, relapse=True),
        client("t2", t, "collection_struggle", arrears_day=100),
        client("t3", t, arrears_day=200),
        client("t4", t, arrears_day=50, followup=90, censored=True),
        client("t5", t, followup=120, censored=True),
        client("t6", t, "collection_struggle", followup=250, censored=True),
        *(client(f"t-full-{i}", t, SEGMENTS[i % 2]) for i in range(5)),
        client("t-pending-1", t, followup=None),
        client("t-pending-2", t, "collection_struggle", followup=None),
        *(
            client(f"c{i}", c, SEGMENTS[i % 2], arrears_day=day, relapse=i % 2 == 0)
            for i, day in enumerate((10, 40, 80, 150, 220, 300))
        ),
        client("c-cens", c, "collection_struggle", followup=180, censored=True),
        *(client(f"c-full-{i}", c) for i in range(3)),
        client("c-pending", c, followup=None),
    ]
