"""A handful of hand-written loan histories for the demo and the walking-skeleton e2e test.

Three clients, one instalment each, due Monday 1 February 2027 (grace deadline: the 5th TARGET2
business day after, Monday 8 February):
- ``on-time``: collected on the due date: no signal.
- ``returned``: collected, returned two days later for insufficient funds (AM04), then paid by
  transfer on the 5th: a failed direct debit and a late payment, no arrears.
- ``missed``: nothing is paid: at the close of 8 February the instalment is missed and the loan
  enters arrears.
The simulator (a later issue) replaces this with a whole pilot year.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from schemas.codec import encode
from schemas.payments import PAYMENT_EVENT_ADAPTER

SOURCE = "bank/payment-pipeline"
DUE = date(2027, 2, 1)
CLOSED_DAYS = [
    DUE + timedelta(days=d) for d in range(10) if (DUE + timedelta(days=d)).weekday() < 5
]


EXPECTED_SIGNALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("C-returned", "direct_debit_failed"),
        ("C-returned", "late_payment"),
        ("C-missed", "instalment_missed"),
        ("C-missed", "arrears_onset"),
    }
)
"""(client id, signal type) the detector must raise for these histories, and nothing else."""


def _at(day: date, hour: int = 12) -> str:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC).isoformat()


def _event(event_id: str, event_type: str, day: date, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "source": SOURCE, "type": event_type, "time": _at(day), "data": data}


def _loan(client: str) -> dict[str, str]:
    return {"loan_id": f"L-{client}", "client_id": f"C-{client}"}


def _due(client: str) -> dict[str, Any]:
    return _event(
        f"due-{client}-2027-02",
        "instalment_due",
        DUE - timedelta(days=7),
        {
            **_loan(client),
            "instalment_id": f"I-{client}-2027-02",
            "due_date": DUE.isoformat(),
            "amount": "1250.00",
            "currency": "EUR",
            "outstanding_balance": "250000.00",
        },
    )


def _collected(client: str) -> dict[str, Any]:
    return _event(
        f"dd-{client}-2027-02",
        "direct_debit_collected",
        DUE,
        {
            **_loan(client),
            "instalment_id": f"I-{client}-2027-02",
            "end_to_end_id": f"E2E-{client}-2027-02",
            "mandate_id": f"M-{client}",
            "bank_reference": f"BR-{client}-2027-02-01",
            "booking_date": DUE.isoformat(),
            "amount": "1250.00",
            "currency": "EUR",
        },
    )


def loan_events() -> list[dict[str, Any]]:
    """The loan events in booking order (JSON-ready dictionaries, as the bank would post them)."""
    returned_on = DUE + timedelta(days=2)
    paid_on = DUE + timedelta(days=4)
    return [
        _due("ontime"),
        _due("returned"),
        _due("missed"),
        _collected("ontime"),
        _collected("returned"),
        _event(
            "rt-returned-2027-02",
            "direct_debit_returned",
            returned_on,
            {
                **_loan("returned"),
                "end_to_end_id": "E2E-returned-2027-02",
                "mandate_id": "M-returned",
                "bank_reference": "BR-returned-2027-02-03",
                "booking_date": returned_on.isoformat(),
                "amount": "1250.00",
                "currency": "EUR",
                "reason_code": "AM04",
            },
        ),
        _event(
            "tr-returned-2027-02",
            "payment_received",
            paid_on,
            {
                **_loan("returned"),
                "bank_reference": "BR-returned-2027-02-05",
                "booking_date": paid_on.isoformat(),
                "amount": "1250.00",
                "currency": "EUR",
            },
        ),
    ]


def day_closed_events() -> list[dict[str, Any]]:
    """End-of-day ticks for the business days around the due date."""
    return [
        _event(
            f"close-{day.isoformat()}",
            "business_day_closed",
            day,
            {"business_date": day.isoformat(), "calendar": "TARGET2"},
        )
        for day in CLOSED_DAYS
    ]


def all_events() -> list[dict[str, Any]]:
    """Loan events and ticks merged in event-time order, ticks last within a day."""
    events = loan_events() + day_closed_events()
    return sorted(events, key=lambda e: (e["time"], e["type"] == "business_day_closed"))


def as_json_array(events: list[dict[str, Any]]) -> bytes:
    """The request body for POST /v1/events, validated on the way out."""
    validated = [PAYMENT_EVENT_ADAPTER.validate_python(e) for e in events]
    return b"[" + b",".join(encode(e) for e in validated) + b"]"
