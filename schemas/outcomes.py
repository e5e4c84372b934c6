"""outcomes.v1: the pseudonymised outcome log of the pilot, identical in shape for both arms.

The analytics team reads this topic. It carries the client only as ``subject`` (an HMAC
pseudonym) and holds no client ids, loan ids, IBANs or amounts anywhere: a test walks the
schema to keep it that way.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, Self

from pydantic import ConfigDict, Field, Strict, TypeAdapter, model_validator
from pydantic_core import PydanticCustomError

from schemas.actions import Arm, Channel, SofieChannel
from schemas.base import ContractModel
from schemas.enrolments import Segment
from schemas.envelope import Envelope
from schemas.identifiers import Code, Identifier, Pseudonym
from schemas.signals import Dpd
from schemas.temporal import IsoDate
from schemas.vocabulary import SignalType

OUTCOMES_DATASCHEMA: Final = "urn:nazorg:schema:outcomes:v1"

Days = Annotated[int, Strict(), Field(ge=0)]


class EnrolledData(ContractModel):
    arm: Arm
    segment: Segment
    intended_allocation: Annotated[float, Strict(), Field(gt=0, lt=1, allow_inf_nan=False)]
    """Intended treatment share (e.g. 0.375 for 3:5); without it an SRM check is
    meaningless when the allocation is not 1:1."""
    assignment_version: Identifier
    experiment_key: Identifier


class SignalObservedData(ContractModel):
    signal_type: SignalType
    business_date: IsoDate
    dpd: Dpd
    signal_id: Identifier


class ActionOutcomeData(ContractModel):
    """An intervention decision as the analysts see it."""

    action_id: Identifier
    signal_id: Identifier
    channel: Channel
    action: Identifier
    lever: Identifier | None = None
    playbook_version: Identifier


class ActionSentData(ActionOutcomeData):
    """Treatment arm: Sofie accepted the action."""


class ActionShadowedData(ActionOutcomeData):
    """Control arm: the action the playbook *would* have sent."""


class ActionSuppressedData(ActionOutcomeData):
    """The contact policy blocked the action."""

    reason: Code


class EngagementData(ContractModel):
    """The client engaged with something Sofie delivered."""

    action_id: Identifier | None = None
    channel: SofieChannel
    kind: Literal["delivered", "opened", "clicked", "replied", "attended"]


class FollowupClosedData(ContractModel):
    """End of a client's follow-up: the pilot's primary outcome (arrears at any point)."""

    ever_in_arrears: Annotated[bool, Strict()]
    first_arrears_date: IsoDate | None = None
    days_to_first_arrears: Days | None = None
    max_dpd: Dpd
    relapse: Annotated[bool, Strict()]
    censored: Annotated[bool, Strict()]
    """True when follow-up ended before the full period (for Kaplan-Meier)."""
    followup_days: Days

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        has_date = self.first_arrears_date is not None
        has_days = self.days_to_first_arrears is not None
        if has_date != self.ever_in_arrears or has_days != self.ever_in_arrears:
            raise PydanticCustomError(
                "arrears_fields",
                "first_arrears_date and days_to_first_arrears are given exactly when "
                "ever_in_arrears is true",
            )
        if self.relapse and not self.ever_in_arrears:
            raise PydanticCustomError("relapse", "a relapse requires ever_in_arrears")
        if self.days_to_first_arrears is not None and (
            self.days_to_first_arrears > self.followup_days
        ):
            raise PydanticCustomError(
                "days_to_first_arrears", "days_to_first_arrears exceeds followup_days"
            )
        return self


class OutcomeEnvelope(Envelope):
    """``subject`` is required here: it is the only reference to the client."""

    dataschema: Literal["urn:nazorg:schema:outcomes:v1"] = OUTCOMES_DATASCHEMA
    subject: Pseudonym


class Enrolled(OutcomeEnvelope):
    type: Literal["enrolled"]
    data: EnrolledData


class SignalObserved(OutcomeEnvelope):
    type: Literal["signal_observed"]
    data: SignalObservedData


class ActionSent(OutcomeEnvelope):
    type: Literal["action_sent"]
    data: ActionSentData


class ActionShadowed(OutcomeEnvelope):
    type: Literal["action_shadowed"]
    data: ActionShadowedData


class ActionSuppressed(OutcomeEnvelope):
    type: Literal["action_suppressed"]
    data: ActionSuppressedData


class Engagement(OutcomeEnvelope):
    type: Literal["engagement"]
    data: EngagementData


class FollowupClosed(OutcomeEnvelope):
    type: Literal["followup_closed"]
    data: FollowupClosedData


OutcomeEvent = Annotated[
    Enrolled
    | SignalObserved
    | ActionSent
    | ActionShadowed
    | ActionSuppressed
    | Engagement
    | FollowupClosed,
    Field(discriminator="type"),
]
"""Any message on outcomes.v1, discriminated by ``type``."""

OUTCOME_EVENT_ADAPTER: Final[TypeAdapter[OutcomeEvent]] = TypeAdapter(
    OutcomeEvent, config=ConfigDict(hide_input_in_errors=True)
)
