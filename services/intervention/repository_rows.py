"""Plain values the intervention repository takes and returns (no SQLAlchemy, no pydantic).

The domain builds and reads these; only the ``repository*`` modules map them to tables. Every
instant is timezone-aware (the tables refuse naive ones) and comes back in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

__all__ = [
    "ContactRow",
    "DecisionRow",
    "Delivered",
    "EnrolmentRow",
    "ObservationRow",
    "OutboxRow",
    "OutboxStats",
    "OutcomeRow",
    "Parked",
    "Position",
    "RefusalRow",
    "Retry",
    "Settlement",
]


@dataclass(frozen=True, slots=True)
class Position:
    """The input message whose effects are being recorded."""

    consumer: str
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    """One outcome event; ``payload`` is its exact JSON text, ``time`` is timezone-aware."""

    id: str
    subject: str
    type: str
    time: datetime
    arm: str | None
    payload: str


@dataclass(frozen=True, slots=True)
class EnrolmentRow:
    """A client's enrolment and randomised arm, fixed once written.

    ``intended_allocation`` is stored with 5 decimals (rounded half-even on both backends).
    """

    client_id: str
    loan_ids: tuple[str, ...]
    segment: str
    enrolment_date: date
    experiment_key: str
    arm: str
    intended_allocation: float
    assignment_version: str
    assigned_at: datetime


@dataclass(frozen=True, slots=True)
class RefusalRow:
    """A refused attempt to change an enrolment; ``requested_json`` is the exact JSON asked for."""

    client_id: str
    experiment_key: str
    reason: str
    requested_json: str
    refused_at: datetime


@dataclass(frozen=True, slots=True)
class ObservationRow:
    """One arrears signal seen for a client (internal ids, not pseudonyms)."""

    signal_id: str
    client_id: str
    loan_id: str
    signal_type: str
    business_date: date
    dpd: int
    signal_time: datetime
    """The signal's event time: a client enrolled after the signal arrived is decided on it
    later exactly as if it had arrived in order."""


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """One playbook decision, for either arm.

    ``kind`` is ``sofie`` or ``bank_process``; ``status`` is ``planned``, ``shadow``,
    ``suppressed`` (with a ``reason`` code) or ``bank_process``. ``deliver_after`` is None only
    for suppressed decisions; ``decided_at`` is event time.
    """

    action_id: str
    client_id: str
    arm: str
    signal_id: str
    channel: str
    action: str
    lever: str | None
    message: str
    kind: str
    status: str
    reason: str | None
    deferred_reason: str | None
    deliver_after: datetime | None
    playbook_version: str
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A Sofie request waiting in (or done with) the outbox.

    ``request_json`` is the exact HTTP body; ``status`` is ``pending``, ``delivered`` or
    ``parked``; ``next_attempt_at`` is wall-clock time (a claimed row's lease end).
    """

    action_id: str
    request_json: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    sofie_action_id: str | None


@dataclass(frozen=True, slots=True)
class Delivered:
    """Sofie accepted the request (or had it already): mark it delivered, log ``outcomes``."""

    action_id: str
    sofie_action_id: str
    delivered_at: datetime
    outcomes: tuple[OutcomeRow, ...]


@dataclass(frozen=True, slots=True)
class Retry:
    """Try again at ``next_attempt_at`` (wall-clock time)."""

    action_id: str
    attempts: int
    next_attempt_at: datetime
    error: str


@dataclass(frozen=True, slots=True)
class Parked:
    """Stop trying; an operator looks at it."""

    action_id: str
    attempts: int
    error: str


Settlement = Delivered | Retry | Parked
"""How one dispatch attempt ended."""


@dataclass(frozen=True, slots=True)
class ContactRow:
    """A past or scheduled Sofie contact, as the contact policy counts it."""

    deliver_at: datetime
    channel: str
    action: str


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """Outbox health for metrics: row counts per status and the age of the oldest pending row."""

    pending: int
    parked: int
    delivered: int
    oldest_pending_created_at: datetime | None
