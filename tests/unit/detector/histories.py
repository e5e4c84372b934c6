"""Readable loan histories -> core events, shared by the golden scenarios and properties.

A history is a list of one-key dicts (as written in scenarios/*.yaml):
``due``, ``collected``, ``rejected``, ``returned``, ``refunded``, ``payment``, ``pause``,
``pause_ended``, ``restructured`` and ``close`` (one date, or ``[first, last]`` for every
TARGET2 business day in between). Money must be written as a string: a YAML float is
refused, floats are never money.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from services.arrears_detector.calendar import business_days
from services.arrears_detector.events import (
    BusinessDayClosed,
    DirectDebitCollected,
    DirectDebitRefunded,
    DirectDebitRejected,
    DirectDebitReturned,
    DomainEvent,
    InstalmentDue,
    LoanRestructured,
    PaymentPauseAgreed,
    PaymentPauseEnded,
    PaymentReceived,
)

CATEGORY = {
    **dict.fromkeys(("AM04", "MS03", "AG07", "MS02", "MD06"), "retryable"),
    **dict.fromkeys(("AC01", "AC04", "AC06", "AG01", "MD01", "MD07"), "mandate_broken"),
}


def money(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise TypeError(f"write money as a quoted string, got {value!r}")
    return Decimal(value)


def day(value: Any) -> date:
    if isinstance(value, str):
        return date.fromisoformat(value)
    if type(value) is not date:
        raise TypeError(f"not a date: {value!r}")
    return value


def tick(business_date: date) -> BusinessDayClosed:
    return BusinessDayClosed(
        event_id=f"tick-{business_date.isoformat()}", business_date=business_date
    )


def to_events(loan_id: str, history: list[dict[str, Any]]) -> Iterator[DomainEvent]:
    """Yield core events for ``history``; ids default to ``<loan>-<n>``."""
    base = {"loan_id": loan_id, "client_id": f"C-{loan_id}"}
    for n, step in enumerate(history, start=1):
        ((kind, raw),) = step.items()
        if kind == "close":
            first, last = (raw, raw) if not isinstance(raw, list) else raw
            yield from (tick(d) for d in business_days(day(first), day(last)))
            continue
        f = dict(raw)
        ids = {"event_id": f.pop("event_id", f"{loan_id}-{n}"), **base}
        yield _event(kind, f, ids)


def _event(kind: str, f: dict[str, Any], ids: dict[str, Any]) -> DomainEvent:
    if kind == "due":
        return InstalmentDue(
            **ids,
            instalment_id=f["id"],
            due_date=day(f["date"]),
            amount=money(f["amount"]),
            currency="EUR",
            outstanding_balance=money(f.get("balance", "250000.00")),
        )
    if kind == "collected":
        return DirectDebitCollected(
            **ids,
            end_to_end_id=f["e2e"],
            mandate_id="M1",
            bank_reference=f.get("ref", f"B-{f['e2e']}"),
            booking_date=day(f["date"]),
            amount=money(f["amount"]),
            currency="EUR",
        )
    if kind == "payment":
        return PaymentReceived(
            **ids,
            bank_reference=f.get("ref", ids["event_id"]),
            booking_date=day(f["date"]),
            amount=money(f["amount"]),
            currency="EUR",
        )
    if kind in ("rejected", "returned", "refunded"):
        code = f["reason"]
        common = {
            **ids,
            "end_to_end_id": f["e2e"],
            "mandate_id": "M1",
            "booking_date": day(f["date"]),
            "amount": money(f["amount"]),
            "currency": "EUR",
            "reason_code": code,
            "reason_category": CATEGORY.get(code, "unknown"),
        }
        if kind == "rejected":
            return DirectDebitRejected(**common)
        cls = DirectDebitReturned if kind == "returned" else DirectDebitRefunded
        return cls(**common, bank_reference=f.get("ref", f"R-{ids['event_id']}"))
    if kind == "pause":
        return PaymentPauseAgreed(
            **ids, pause_id=f["id"], start_date=day(f["start"]), end_date=day(f["end"])
        )
    if kind == "pause_ended":
        return PaymentPauseEnded(**ids, pause_id=f["id"], end_date=day(f["end"]))
    if kind == "restructured":
        return LoanRestructured(
            **ids,
            restructure_id=f["id"],
            effective_date=day(f["date"]),
            outstanding_balance=money(f["balance"]),
            distressed=bool(f.get("distressed", False)),
        )
    raise ValueError(f"unknown history step {kind!r}")
