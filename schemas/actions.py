"""Intervention decisions and the bodies of the Sofie HTTP API."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import ConfigDict, JsonValue, model_validator
from pydantic_core import PydanticCustomError

from schemas.base import ContractModel
from schemas.identifiers import Code, Identifier
from schemas.temporal import UtcDatetime

Arm = Literal["treatment", "control"]

SofieChannel = Literal["app", "email", "video", "workshop", "one_to_one"]
"""Channels Sofie can deliver on."""

Channel = Literal["app", "email", "video", "workshop", "one_to_one", "bank_process"]
"""Sofie's channels plus ``bank_process``: the bank's existing process (control arm)."""

ActionStatus = Literal["planned", "shadow", "suppressed", "bank_process"]
"""``planned``: to be sent through the outbox; ``shadow``: what the control arm *would*
have received, recorded and never sent; ``suppressed``: blocked by the contact policy;
``bank_process``: the bank's existing process, done by the bank and only recorded here.
A contact postponed by quiet hours stays planned (or shadow) with a later ``deliver_after``
and a ``deferred_reason``."""


class ActionDecision(ContractModel):
    """The playbook's decision on one signal for one client, recorded for both arms."""

    action_id: Identifier
    """Deterministic (``schemas.ids.deterministic_id``): the outbox idempotency key."""
    client_id: Identifier
    arm: Arm
    channel: Channel
    action: Identifier
    lever: Identifier | None = None
    """Behavioural lever, e.g. ``nudge``, ``mental_accounting``, ``repetition``."""
    status: ActionStatus
    reason: Code | None = None
    """Why it was suppressed (``frequency_cap``, ``no_consent``), never free text."""
    deferred_reason: Code | None = None
    """Why ``deliver_after`` is later than the playbook asked (``quiet_hours``)."""
    deliver_after: UtcDatetime | None = None
    """Not before this instant (event time); none for a suppressed action."""
    signal_id: Identifier
    playbook_version: Identifier

    @model_validator(mode="after")
    def _arm_matches_status(self) -> Self:
        # Principle 6: control clients are logged like treatment clients, but nothing is
        # ever sent to them; and a treatment decision is never a mere shadow.
        if self.arm == "control" and self.status == "planned":
            raise PydanticCustomError(
                "arm_status", "a control-arm decision is never planned; record it as shadow"
            )
        if self.arm == "treatment" and self.status == "shadow":
            raise PydanticCustomError("arm_status", "shadow decisions belong to the control arm")
        if (self.status == "bank_process") != (self.channel == "bank_process"):
            raise PydanticCustomError(
                "bank_process", "the bank_process status and channel go together"
            )
        return self


class SofieActionRequest(ContractModel):
    """Body of the call that asks Sofie to deliver one action (treatment arm only)."""

    idempotency_key: Identifier
    """Sofie performs an action at most once per key; we use the ``action_id``."""
    client_ref: Identifier
    channel: SofieChannel
    action: Identifier
    payload: dict[str, JsonValue]
    """Action-specific content for Sofie's templates."""


class SofieActionResponse(ContractModel):
    """Sofie's answer to an accepted request (errors come as non-2xx with an error body).

    A tolerant reader: unknown fields are ignored, so Sofie can add fields without
    breaking our outbox. ``duplicate`` means the key was seen before and
    ``sofie_action_id`` names the original action.
    """

    model_config = ConfigDict(extra="ignore")

    idempotency_key: Identifier
    sofie_action_id: Identifier
    status: Literal["accepted", "duplicate"]
