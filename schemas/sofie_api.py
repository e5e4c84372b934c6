"""Bodies of the Sofie HTTP API beyond the action request/response in ``schemas.actions``.

Sofie is external; these models are the contract we wrote for it (docs/sofie.md,
docs/openapi/sofie.json) and that the dev server (``services.sofie_dev``) implements. The
dev-control bodies (``/_dev/...``) are not part of Sofie's public contract: they exist so the
demo, the simulator and the tests can steer and observe the dev server.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, Self

from pydantic import Field, Strict, model_validator
from pydantic_core import PydanticCustomError

from schemas.actions import SofieActionRequest, SofieChannel
from schemas.base import ContractModel
from schemas.identifiers import Code, Identifier
from schemas.ingest_api import FieldError
from schemas.temporal import UtcDatetime

EngagementKind = Literal["delivered", "opened", "clicked", "replied", "attended"]
"""What a client did with an action; the same values as ``EngagementData.kind`` on
outcomes.v1 (a unit test keeps the two in step)."""

FaultMode = Literal["none", "error_500", "timeout", "latency", "refuse"]
"""Fault injected into ``POST /v1/actions`` by the dev server."""

MAX_DETAIL: Final = 2048

Count = Annotated[int, Strict(), Field(ge=0)]
Seq = Annotated[int, Strict(), Field(ge=1)]


class SofieDeliveryRequest(SofieActionRequest):
    """Body of ``POST /v1/actions``: the action plus when Sofie may deliver it at the earliest.

    ``deliver_after`` carries our quiet hours: Sofie must not contact the client before that
    instant. It takes part in the idempotency comparison like every other field.
    """

    deliver_after: UtcDatetime | None = None
    """Earliest instant Sofie may deliver (quiet hours); ``null``: as soon as it can."""


class SofieError(ContractModel):
    """Body of every non-2xx answer of the Sofie API; never echoes request content."""

    error: Code
    """Machine-readable, e.g. ``unauthorized``, ``idempotency_conflict``, ``invalid_body``."""
    detail: Annotated[str, Strict(), Field(max_length=MAX_DETAIL)] | None = None
    errors: tuple[FieldError, ...] = ()
    """Per-field problems (``loc`` + ``msg``) of a 422; empty otherwise."""


class EngagementCallback(ContractModel):
    """Body Sofie posts to our webhook when a client engaged with a delivered action.

    ``callback_id`` is derived from the action's idempotency key and ``kind``, so a callback
    Sofie sends again (a retry after a lost answer) carries the same id and the receiver can
    drop it.
    """

    callback_id: Identifier
    idempotency_key: Identifier
    """The key of the action this engagement belongs to (our ``action_id``)."""
    sofie_action_id: Identifier
    client_ref: Identifier
    channel: SofieChannel
    kind: EngagementKind
    occurred_at: UtcDatetime
    """``deliver_after`` of the action when given, else the moment Sofie received it."""


class FaultConfig(ContractModel):
    """Body of ``POST /_dev/faults`` (and answer of ``GET /_dev/faults``)."""

    mode: FaultMode
    latency_s: Annotated[float, Field(ge=0, le=600, allow_inf_nan=False)] | None = None
    """``latency``: delay before the request is processed normally (required).
    ``timeout``: how long a request is held before it is dropped unprocessed (default: the
    server's hold time, 30 s). Ignored by the other modes."""
    remaining: Annotated[int, Strict(), Field(ge=1)] | None = None
    """Apply to the next N requests of ``POST /v1/actions``, then back to ``none``;
    ``null``: until changed."""

    @model_validator(mode="after")
    def _latency_needs_a_delay(self) -> Self:
        if self.mode == "latency" and self.latency_s is None:
            raise PydanticCustomError("latency_s", "latency mode needs latency_s")
        return self


class ReceivedAction(ContractModel):
    """One accepted action as the dev server recorded it (``GET /_dev/received``)."""

    seq: Seq
    """Monotonically increasing per accepted action; page with ``?since=<seq>``."""
    idempotency_key: Identifier
    sofie_action_id: Identifier
    client_ref: Identifier
    channel: SofieChannel
    action: Identifier
    deliver_after: UtcDatetime | None = None
    received_at: UtcDatetime
    requests: Annotated[int, Strict(), Field(ge=1)]
    """How many POSTs arrived for this key (the first, duplicates and conflicts)."""


class SofieStats(ContractModel):
    """Counters of the dev server since start or the last ``POST /_dev/reset``."""

    requests: Count
    """Every ``POST /v1/actions``, whatever its answer."""
    accepted: Count
    duplicates: Count
    conflicts: Count
    unauthorized: Count
    invalid: Count
    """Answered 400, 413 or 422."""
    faults_injected: Count
    callbacks_sent: Count
    callbacks_failed: Count
    callbacks_pending: Count
    """Callbacks queued or being tried; wait for 0 before asserting on the other two."""
