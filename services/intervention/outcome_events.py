"""The outcome records of the pilot, built the same way for both arms.

Pure: ids are derived from what caused the record, so re-consuming a message or re-running
a delivery yields the same record, byte for byte, and consumers recognise it. Subjects are
pseudonyms; no client id, loan id, IBAN or amount is ever placed in a record.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Final

from schemas.ids import deterministic_id
from schemas.outcomes import (
    ActionSent,
    ActionSentData,
    ActionShadowed,
    ActionShadowedData,
    ActionSuppressed,
    ActionSuppressedData,
    Engagement,
    EngagementData,
    Enrolled,
    EnrolledData,
    FollowupClosed,
    FollowupClosedData,
    OutcomeEnvelope,
)
from schemas.sofie_api import EngagementCallback
from services.intervention.assignment import Assignment
from services.intervention.followup import FollowupResult
from services.intervention.pseudonym import pseudonymise
from services.intervention.repository import DecisionRow

SOURCE: Final = "nazorg/intervention"


def _id(kind: str, *parts: str) -> str:
    return deterministic_id("outcome", kind, *parts)


def enrolled(assignment: Assignment, at: datetime, study_key: str) -> Enrolled:
    return Enrolled(
        id=_id("enrolled", assignment.experiment_key, assignment.client_id),
        source=SOURCE,
        type="enrolled",
        time=at,
        subject=pseudonymise(assignment.client_id, study_key),
        data=EnrolledData(
            arm=assignment.arm,
            segment=assignment.segment,
            intended_allocation=assignment.intended_allocation,
            assignment_version=assignment.method_version,
            experiment_key=assignment.experiment_key,
        ),
    )


def decision_outcome(decision: DecisionRow, study_key: str) -> OutcomeEnvelope | None:
    """``action_shadowed`` or ``action_suppressed`` at decision time; ``None`` for decisions
    whose outcome comes later (``action_sent``, once Sofie accepted) or never (the bank's
    own process, which is not ours to report)."""
    subject = pseudonymise(decision.client_id, study_key)
    if decision.status == "shadow":
        return ActionShadowed(
            id=_id("action_shadowed", decision.action_id),
            source=SOURCE,
            type="action_shadowed",
            time=decision.deliver_after or decision.decided_at,
            subject=subject,
            data=ActionShadowedData(**_action_fields(decision)),
        )
    if decision.status == "suppressed":
        return ActionSuppressed(
            id=_id("action_suppressed", decision.action_id),
            source=SOURCE,
            type="action_suppressed",
            time=decision.decided_at,
            subject=subject,
            data=ActionSuppressedData(
                **_action_fields(decision), reason=decision.reason or "unspecified"
            ),
        )
    return None


def action_sent(decision: DecisionRow, study_key: str) -> ActionSent:
    """Sofie accepted the action; ``time`` is when it is to be delivered (event time)."""
    return ActionSent(
        id=_id("action_sent", decision.action_id),
        source=SOURCE,
        type="action_sent",
        time=decision.deliver_after or decision.decided_at,
        subject=pseudonymise(decision.client_id, study_key),
        data=ActionSentData(**_action_fields(decision)),
    )


def engagement(callback: EngagementCallback, study_key: str) -> Engagement:
    return Engagement(
        id=_id("engagement", callback.callback_id),
        source=SOURCE,
        type="engagement",
        time=callback.occurred_at,
        subject=pseudonymise(callback.client_ref, study_key),
        data=EngagementData(
            action_id=callback.idempotency_key, channel=callback.channel, kind=callback.kind
        ),
    )


def followup_closed(
    assignment_client_id: str,
    experiment_key: str,
    closed_on: date,
    result: FollowupResult,
    study_key: str,
) -> FollowupClosed:
    return FollowupClosed(
        id=_id("followup_closed", experiment_key, assignment_client_id),
        source=SOURCE,
        type="followup_closed",
        time=datetime.combine(closed_on, time(), tzinfo=UTC),
        subject=pseudonymise(assignment_client_id, study_key),
        data=FollowupClosedData(
            ever_in_arrears=result.ever_in_arrears,
            first_arrears_date=result.first_arrears_date,
            days_to_first_arrears=result.days_to_first_arrears,
            max_dpd=result.max_dpd,
            relapse=result.relapse,
            censored=result.censored,
            followup_days=result.followup_days,
        ),
    )


def _action_fields(decision: DecisionRow) -> dict[str, str | None]:
    return {
        "action_id": decision.action_id,
        "signal_id": decision.signal_id,
        "channel": decision.channel,
        "action": decision.action,
        "lever": decision.lever,
        "playbook_version": decision.playbook_version,
    }
