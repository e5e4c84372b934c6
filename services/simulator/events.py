"""Builders of canonical payment events as JSON-ready dictionaries.

Each builder writes every field of the *serialization* flavour of payments.events.v1, in
the models' declaration order, with money as two-decimal strings and times in UTC with a
``Z``. ``json.dumps(event, separators=(",", ":"))`` is therefore byte-identical to
``schemas.codec.encode`` of the validated model (a test checks this), so the simulator can
write millions of events without building a pydantic model for each one.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final

from schemas.money import format_money
from schemas.payments import PAYMENTS_DATASCHEMA
from schemas.sepa import category_for

Event = dict[str, Any]
"""One canonical payment event, ready for ``json.dumps``."""

SOURCE: Final = "bank/payment-simulator"

TIME_OF_DAY: Final = {
    "instalment_due": "06:00:00",
    "payment_pause_agreed": "07:00:00",
    "loan_restructured": "07:30:00",
    "direct_debit_collected": "08:00:00",
    "direct_debit_rejected": "08:00:00",
    "direct_debit_returned": "09:00:00",
    "direct_debit_refunded": "09:00:00",
    "payment_received": "12:00:00",
    "payment_pause_ended": "13:00:00",
    "business_day_closed": "20:00:00",
}
"""Event time within the booking day (UTC): loan events during the day, ticks last."""


@lru_cache(maxsize=4096)
def iso(day: date) -> str:
    """``YYYY-MM-DD``; cached, as a run formats the same few hundred days millions of times."""
    return day.isoformat()


@lru_cache(maxsize=16384)
def _time(event_type: str, day: date) -> str:
    return f"{day.isoformat()}T{TIME_OF_DAY[event_type]}Z"


def money(amount: Decimal) -> str:
    """The contract's two-decimal form. Amounts held in cents print as such with ``str``
    (fast path); anything else goes through ``schemas.money.format_money``."""
    text = str(amount)
    return text if text[-3:-2] == "." else format_money(amount)


def _envelope(event_id: str, event_type: str, day: date, data: dict[str, Any]) -> Event:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": SOURCE,
        "type": event_type,
        "time": _time(event_type, day),
        "dataschema": PAYMENTS_DATASCHEMA,
        "datacontenttype": "application/json",
        "producedtime": None,
        "subject": None,
        "data": data,
    }


def instalment_due(
    event_id: str,
    loan_id: str,
    client_id: str,
    instalment_id: str,
    due: date,
    amount: Decimal,
    components: tuple[Decimal, Decimal, Decimal] | None,
    outstanding_balance: Decimal,
) -> Event:
    """The bank posts an instalment on its due date; ``components`` = principal, interest, fees."""
    return _envelope(
        event_id,
        "instalment_due",
        due,
        {
            "loan_id": loan_id,
            "client_id": client_id,
            "instalment_id": instalment_id,
            "due_date": iso(due),
            "amount": money(amount),
            "currency": "EUR",
            "components": None
            if components is None
            else {
                "principal": money(components[0]),
                "interest": money(components[1]),
                "fees": money(components[2]),
            },
            "outstanding_balance": money(outstanding_balance),
        },
    )


def direct_debit_collected(
    event_id: str,
    loan_id: str,
    client_id: str,
    instalment_id: str,
    end_to_end_id: str,
    mandate_id: str,
    bank_reference: str,
    day: date,
    amount: Decimal,
) -> Event:
    """A settled SEPA collection (camt.054 credit entry)."""
    return _envelope(
        event_id,
        "direct_debit_collected",
        day,
        {
            "loan_id": loan_id,
            "client_id": client_id,
            "instalment_id": instalment_id,
            "end_to_end_id": end_to_end_id,
            "mandate_id": mandate_id,
            "bank_reference": bank_reference,
            "booking_date": iso(day),
            "amount": money(amount),
            "currency": "EUR",
            "debtor_iban": None,
        },
    )


def direct_debit_rejected(
    event_id: str,
    loan_id: str,
    client_id: str,
    end_to_end_id: str,
    mandate_id: str,
    day: date,
    amount: Decimal,
    reason_code: str,
) -> Event:
    """pain.002 RJCT: the collection failed before settlement; no money moved."""
    return _envelope(
        event_id,
        "direct_debit_rejected",
        day,
        {
            "loan_id": loan_id,
            "client_id": client_id,
            "end_to_end_id": end_to_end_id,
            "mandate_id": mandate_id,
            "bank_reference": None,
            "booking_date": iso(day),
            "amount": money(amount),
            "currency": "EUR",
            "reason_code": reason_code,
            "reason_category": category_for(reason_code).value,
        },
    )


def direct_debit_reversed(
    event_type: str,
    event_id: str,
    loan_id: str,
    client_id: str,
    end_to_end_id: str,
    mandate_id: str,
    bank_reference: str,
    day: date,
    amount: Decimal,
    reason_code: str,
) -> Event:
    """A return (debtor's bank) or refund (debtor) of the collection ``end_to_end_id``."""
    if event_type not in ("direct_debit_returned", "direct_debit_refunded"):
        raise ValueError(f"not a reversal type: {event_type}")
    return _envelope(
        event_id,
        event_type,
        day,
        {
            "loan_id": loan_id,
            "client_id": client_id,
            "end_to_end_id": end_to_end_id,
            "mandate_id": mandate_id,
            "bank_reference": bank_reference,
            "booking_date": iso(day),
            "amount": money(amount),
            "currency": "EUR",
            "reason_code": reason_code,
            "reason_category": category_for(reason_code).value,
        },
    )


def payment_received(
    event_id: str,
    loan_id: str,
    client_id: str,
    bank_reference: str,
    day: date,
    amount: Decimal | None,
) -> Event:
    """A manual transfer. ``amount`` may be left ``None`` here and filled in later: the
    engine sizes some transfers from what the client owes on the booking day."""
    return _envelope(
        event_id,
        "payment_received",
        day,
        {
            "loan_id": loan_id,
            "client_id": client_id,
            "bank_reference": bank_reference,
            "end_to_end_id": None,
            "booking_date": iso(day),
            "amount": None if amount is None else money(amount),
            "currency": "EUR",
        },
    )


def payment_pause_agreed(
    event_id: str, loan_id: str, client_id: str, pause_id: str, day: date, start: date, end: date
) -> Event:
    """Instalments due in ``[start, end]`` are suspended."""
    return _envelope(
        event_id,
        "payment_pause_agreed",
        day,
        {
            "loan_id": loan_id,
            "client_id": client_id,
            "pause_id": pause_id,
            "start_date": iso(start),
            "end_date": iso(end),
        },
    )


def payment_pause_ended(
    event_id: str, loan_id: str, client_id: str, pause_id: str, day: date, end: date
) -> Event:
    """The pause ends as agreed (the simulator never ends one early)."""
    return _envelope(
        event_id,
        "payment_pause_ended",
        day,
        {
            "loan_id": loan_id,
            "client_id": client_id,
            "pause_id": pause_id,
            "end_date": iso(end),
        },
    )


def loan_restructured(
    event_id: str,
    loan_id: str,
    client_id: str,
    restructure_id: str,
    day: date,
    outstanding_balance: Decimal,
    distressed: bool,
) -> Event:
    """New terms from ``day``: a new exposure; ``distressed`` when the client was in arrears."""
    return _envelope(
        event_id,
        "loan_restructured",
        day,
        {
            "loan_id": loan_id,
            "client_id": client_id,
            "restructure_id": restructure_id,
            "effective_date": iso(day),
            "outstanding_balance": money(outstanding_balance),
            "distressed": distressed,
        },
    )


def business_day_closed(event_id: str, day: date) -> Event:
    """The end-of-day tick: published after every loan event booked on ``day``."""
    return _envelope(
        event_id,
        "business_day_closed",
        day,
        {"business_date": iso(day), "calendar": "TARGET2"},
    )
