"""Builders for the intervention repository's rows, shared by the test_intervention_* files."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from services.intervention.repository import (
    DecisionRow,
    EnrolmentRow,
    InterventionRepository,
    OutboxRow,
    Tx,
)

from .helpers import T0

ENROLLED_ON = date(2026, 3, 2)


def enrolment(client: str = "client-1", **overrides: Any) -> EnrolmentRow:
    values: dict[str, Any] = {
        "client_id": client,
        "loan_ids": ("loan-1", "loan-2"),
        "segment": "collection_struggle",
        "enrolment_date": ENROLLED_ON,
        "experiment_key": "sofie-pilot-2026",
        "arm": "treatment",
        "intended_allocation": 0.375,
        "assignment_version": "v1",
        "assigned_at": T0,
    } | overrides
    return EnrolmentRow(**values)


def decision(action_id: str, client: str = "client-1", **overrides: Any) -> DecisionRow:
    values: dict[str, Any] = {
        "action_id": action_id,
        "client_id": client,
        "arm": "treatment",
        "signal_id": "sig-1",
        "channel": "app",
        "action": "payment_reminder",
        "lever": "nudge",
        "message": "reminder-v1",
        "kind": "sofie",
        "status": "planned",
        "reason": None,
        "deferred_reason": None,
        "deliver_after": T0,
        "playbook_version": "pb-1",
        "decided_at": T0,
    } | overrides
    return DecisionRow(**values)


def request_json(action_id: str) -> str:
    body = {"idempotency_key": action_id, "client_ref": "ref-1", "channel": "app"}
    return json.dumps(body, separators=(",", ":"))


def pending(action_id: str, next_attempt_at: datetime = T0) -> OutboxRow:
    return OutboxRow(
        action_id=action_id,
        request_json=request_json(action_id),
        status="pending",
        attempts=0,
        next_attempt_at=next_attempt_at,
        last_error=None,
        sofie_action_id=None,
    )


def enqueue_planned(
    repository: InterventionRepository, action_ids: list[str], due: datetime = T0
) -> None:
    """Decide and enqueue one planned Sofie action per id, all due at ``due``."""

    def work(tx: Tx) -> None:
        tx.insert_decisions([decision(a, deliver_after=due) for a in action_ids])
        tx.enqueue([pending(a, due) for a in action_ids])

    repository.run(None, work)


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)
