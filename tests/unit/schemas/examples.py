"""Valid wire-format examples (as parsed JSON) of every message type, one per ``type``.

Tests deep-copy and mutate them to probe one rule at a time.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import ValidationError

from schemas.errors import field_errors

PSEUDONYM = "a3" * 32
LOAN = {"loan_id": "L-0001", "client_id": "C-0001"}


def _envelope(type_: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": f"evt-{type_}",
        "source": "bank/payment-pipeline",
        "type": type_,
        "time": "2026-03-02T09:30:00+01:00",
        "data": data,
        **extra,
    }


PAYMENT_EVENTS: dict[str, dict[str, Any]] = {
    "instalment_due": _envelope(
        "instalment_due",
        {
            **LOAN,
            "instalment_id": "I-2026-03",
            "due_date": "2026-03-01",
            "amount": "1000.00",
            "currency": "EUR",
            "components": {"principal": "600.00", "interest": "400.00", "fees": "0.00"},
            "outstanding_balance": "250000.00",
        },
    ),
    "direct_debit_collected": _envelope(
        "direct_debit_collected",
        {
            **LOAN,
            "instalment_id": "I-2026-03",
            "end_to_end_id": "E2E-1",
            "mandate_id": "MANDATE-1",
            "bank_reference": "BREF-1",
            "booking_date": "2026-03-02",
            "amount": "1000.00",
            "currency": "EUR",
            "debtor_iban": "NL91ABNA0417164300",
        },
    ),
    "direct_debit_rejected": _envelope(
        "direct_debit_rejected",
        {
            **LOAN,
            "end_to_end_id": "E2E-2",
            "mandate_id": "MANDATE-1",
            "booking_date": "2026-03-02",
            "amount": "1000.00",
            "currency": "EUR",
            "reason_code": "AM04",
            "reason_category": "retryable",
        },
    ),
    "direct_debit_returned": _envelope(
        "direct_debit_returned",
        {
            **LOAN,
            "end_to_end_id": "E2E-1",
            "mandate_id": "MANDATE-1",
            "bank_reference": "BREF-2",
            "booking_date": "2026-03-05",
            "amount": "1000.00",
            "currency": "EUR",
            "reason_code": "AC04",
        },
    ),
    "direct_debit_refunded": _envelope(
        "direct_debit_refunded",
        {
            **LOAN,
            "end_to_end_id": "E2E-1",
            "mandate_id": "MANDATE-1",
            "bank_reference": "BREF-3",
            "booking_date": "2026-04-20",
            "amount": "1000.00",
            "currency": "EUR",
            "reason_code": "MD06",
            "reason_category": "retryable",
        },
    ),
    "payment_received": _envelope(
        "payment_received",
        {
            **LOAN,
            "bank_reference": "BREF-4",
            "booking_date": "2026-03-10",
            "amount": "250.5",
            "currency": "EUR",
        },
    ),
    "payment_pause_agreed": _envelope(
        "payment_pause_agreed",
        {**LOAN, "pause_id": "P-1", "start_date": "2026-04-01", "end_date": "2026-06-30"},
    ),
    "payment_pause_ended": _envelope(
        "payment_pause_ended", {**LOAN, "pause_id": "P-1", "end_date": "2026-05-31"}
    ),
    "loan_restructured": _envelope(
        "loan_restructured",
        {
            **LOAN,
            "restructure_id": "R-1",
            "effective_date": "2026-07-01",
            "outstanding_balance": "248000.00",
            "distressed": True,
        },
    ),
    "business_day_closed": _envelope(
        "business_day_closed",
        {"business_date": "2026-03-02", "calendar": "TARGET2"},
        producedtime="2026-03-02T18:00:01.123456Z",
    ),
}

SIGNAL: dict[str, Any] = {
    "id": "0123456789abcdef0123456789abcdef",
    "source": "nazorg/arrears-detector",
    "type": "direct_debit_failed",
    "time": "2026-03-02T23:59:59Z",
    "data": {
        **LOAN,
        "business_date": "2026-03-02",
        "dpd": 1,
        "past_due_amount": "1000.00",
        "exposure": "250000.00",
        "cause_event_ids": ["evt-direct_debit_rejected"],
        "instalment_id": "I-2026-03",
        "reason_code": "AM04",
        "bucket": "1-30",
    },
}

ENROLMENT: dict[str, Any] = {
    "id": "enr-1",
    "source": "bank/pilot-admin",
    "type": "client_enrolled",
    "time": "2026-01-15T10:00:00Z",
    "data": {
        "client_id": "C-0001",
        "loan_ids": ["L-0001", "L-0002"],
        "segment": "collection_struggle",
        "enrolment_date": "2026-01-15",
    },
}

_ACTION = {
    "action_id": "act-1",
    "signal_id": "0123456789abcdef0123456789abcdef",
    "channel": "app",
    "action": "reminder_before_due",
    "lever": "nudge",
    "playbook_version": "2026.1",
}


def _outcome(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    return _envelope(type_, data, subject=PSEUDONYM, source="nazorg/intervention")


OUTCOMES: dict[str, dict[str, Any]] = {
    "enrolled": _outcome(
        "enrolled",
        {
            "arm": "treatment",
            "segment": "prevention",
            "intended_allocation": 0.375,
            "assignment_version": "v1",
            "experiment_key": "sofie-pilot-2026",
        },
    ),
    "signal_observed": _outcome(
        "signal_observed",
        {
            "signal_type": "arrears_onset",
            "business_date": "2026-03-09",
            "dpd": 8,
            "signal_id": "0123456789abcdef0123456789abcdef",
        },
    ),
    "action_sent": _outcome("action_sent", dict(_ACTION)),
    "action_shadowed": _outcome("action_shadowed", {**_ACTION, "channel": "bank_process"}),
    "action_suppressed": _outcome(
        "action_suppressed", {**_ACTION, "lever": None, "reason": "frequency_cap"}
    ),
    "engagement": _outcome(
        "engagement", {"action_id": "act-1", "channel": "email", "kind": "opened"}
    ),
    "followup_closed": _outcome(
        "followup_closed",
        {
            "ever_in_arrears": True,
            "first_arrears_date": "2026-03-09",
            "days_to_first_arrears": 53,
            "max_dpd": 12,
            "relapse": False,
            "censored": False,
            "followup_days": 365,
        },
    ),
}

DEAD_LETTER: dict[str, Any] = {
    "id": "dlq-1",
    "source": "nazorg/ingest",
    "type": "dead_lettered",
    "time": "2026-03-02T10:00:00Z",
    "data": {
        "payload": '{"type": "instalment_due", "amount": 1000.0}',
        "encoding": "utf-8",
        "errors": [{"loc": "data.amount", "msg": "must be a JSON string"}],
        "source": "kafka",
        "source_topic": "payments.inbound.v1",
        "source_partition": 3,
        "source_offset": 42,
        "reason": "schema_violation",
        "received_at": "2026-03-02T10:00:00Z",
    },
}

ACTION_DECISION: dict[str, Any] = {
    "action_id": "act-1",
    "client_id": "C-0001",
    "arm": "control",
    "channel": "app",
    "action": "reminder_before_due",
    "lever": "nudge",
    "status": "shadow",
    "reason": None,
    "signal_id": "0123456789abcdef0123456789abcdef",
    "playbook_version": "2026.1",
}

SOFIE_REQUEST: dict[str, Any] = {
    "idempotency_key": "act-1",
    "client_ref": "C-0001",
    "channel": "app",
    "action": "reminder_before_due",
    "payload": {"due_date": "2026-04-01", "template": "reminder-v2", "repeat": 2},
}

SOFIE_RESPONSE: dict[str, Any] = {
    "idempotency_key": "act-1",
    "sofie_action_id": "sofie-998",
    "status": "accepted",
}

INGEST_RESPONSE: dict[str, Any] = {
    "results": [
        {"index": 0, "event_id": "evt-1", "status": "accepted", "errors": []},
        {"index": 1, "event_id": "evt-1", "status": "duplicate", "errors": []},
        {
            "index": 2,
            "event_id": None,
            "status": "rejected",
            "errors": [{"loc": "data.amount", "msg": "must be a JSON string"}],
        },
    ],
    "received": 3,
    "accepted": 1,
    "duplicate": 1,
    "rejected": 1,
}

ERROR_RESPONSE: dict[str, Any] = {"error": "unauthorized", "detail": "missing bearer token"}


def fresh(example: dict[str, Any]) -> dict[str, Any]:
    """A deep copy that a test may mutate."""
    return copy.deepcopy(example)


def error_locs(exc: ValidationError) -> dict[str, str]:
    """Dotted field path -> message, as the ingest API would report them."""
    return {error.loc: error.msg for error in field_errors(exc)}
