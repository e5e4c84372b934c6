"""Compact JSON for the simulator's own events, about five times faster than ``json``.

At 100,000 clients a run writes ~3.5 million events, and ``json.JSONEncoder`` alone would
take ~18 s of the one-minute budget. The events come from ``events.py`` with a fixed
layout, and every string in them is built by the simulator from ASCII letters, digits,
``-``, ``:`` and ``.`` (``simulate`` refuses cohort ids outside that set), so no value
needs escaping and each type can be written with one f-string.

The output is byte-identical to ``json`` with ``separators=(",", ":")`` and so to
``schemas.codec.encode`` (tested over every event of a cohort covering every type). An
event that does not have exactly the expected shape falls back to ``json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

from services.simulator.events import Event

ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, check_circular=False)


def _opt(value: str | None) -> str:
    return "null" if value is None else f'"{value}"'


def _instalment_due(d: dict[str, Any]) -> str:
    c = d["components"]
    components = (
        "null"
        if c is None
        else f'{{"principal":"{c["principal"]}","interest":"{c["interest"]}","fees":"{c["fees"]}"}}'
    )
    return (
        f'{{"loan_id":"{d["loan_id"]}","client_id":"{d["client_id"]}",'
        f'"instalment_id":"{d["instalment_id"]}","due_date":"{d["due_date"]}",'
        f'"amount":"{d["amount"]}","currency":"{d["currency"]}","components":{components},'
        f'"outstanding_balance":"{d["outstanding_balance"]}"}}'
    )


def _collected(d: dict[str, Any]) -> str:
    return (
        f'{{"loan_id":"{d["loan_id"]}","client_id":"{d["client_id"]}",'
        f'"instalment_id":{_opt(d["instalment_id"])},"end_to_end_id":"{d["end_to_end_id"]}",'
        f'"mandate_id":"{d["mandate_id"]}","bank_reference":"{d["bank_reference"]}",'
        f'"booking_date":"{d["booking_date"]}","amount":"{d["amount"]}",'
        f'"currency":"{d["currency"]}","debtor_iban":{_opt(d["debtor_iban"])}}}'
    )


def _failed(d: dict[str, Any]) -> str:
    """Rejects, returns and refunds share one layout (``bank_reference`` may be null)."""
    return (
        f'{{"loan_id":"{d["loan_id"]}","client_id":"{d["client_id"]}",'
        f'"end_to_end_id":"{d["end_to_end_id"]}","mandate_id":"{d["mandate_id"]}",'
        f'"bank_reference":{_opt(d["bank_reference"])},"booking_date":"{d["booking_date"]}",'
        f'"amount":"{d["amount"]}","currency":"{d["currency"]}",'
        f'"reason_code":"{d["reason_code"]}","reason_category":"{d["reason_category"]}"}}'
    )


def _payment(d: dict[str, Any]) -> str:
    return (
        f'{{"loan_id":"{d["loan_id"]}","client_id":"{d["client_id"]}",'
        f'"bank_reference":"{d["bank_reference"]}","end_to_end_id":{_opt(d["end_to_end_id"])},'
        f'"booking_date":"{d["booking_date"]}","amount":"{d["amount"]}",'
        f'"currency":"{d["currency"]}"}}'
    )


def _pause_agreed(d: dict[str, Any]) -> str:
    return (
        f'{{"loan_id":"{d["loan_id"]}","client_id":"{d["client_id"]}",'
        f'"pause_id":"{d["pause_id"]}","start_date":"{d["start_date"]}",'
        f'"end_date":"{d["end_date"]}"}}'
    )


def _pause_ended(d: dict[str, Any]) -> str:
    return (
        f'{{"loan_id":"{d["loan_id"]}","client_id":"{d["client_id"]}",'
        f'"pause_id":"{d["pause_id"]}","end_date":"{d["end_date"]}"}}'
    )


def _restructured(d: dict[str, Any]) -> str:
    distressed = "true" if d["distressed"] is True else "false"
    return (
        f'{{"loan_id":"{d["loan_id"]}","client_id":"{d["client_id"]}",'
        f'"restructure_id":"{d["restructure_id"]}","effective_date":"{d["effective_date"]}",'
        f'"outstanding_balance":"{d["outstanding_balance"]}","distressed":{distressed}}}'
    )


def _tick(d: dict[str, Any]) -> str:
    return f'{{"business_date":"{d["business_date"]}","calendar":"{d["calendar"]}"}}'


_DATA: Final[dict[str, tuple[int, Callable[[dict[str, Any]], str]]]] = {
    "instalment_due": (8, _instalment_due),
    "direct_debit_collected": (10, _collected),
    "direct_debit_rejected": (10, _failed),
    "direct_debit_returned": (10, _failed),
    "direct_debit_refunded": (10, _failed),
    "payment_received": (7, _payment),
    "payment_pause_agreed": (5, _pause_agreed),
    "payment_pause_ended": (4, _pause_ended),
    "loan_restructured": (6, _restructured),
    "business_day_closed": (2, _tick),
}
"""Per type: the number of ``data`` fields the layout writes, and the writer."""


def to_json(event: Event) -> str:
    """``event`` as compact JSON text."""
    layout = _DATA.get(event["type"])
    data = event["data"]
    if (
        layout is None
        or len(event) != 10
        or len(data) != layout[0]
        or event["producedtime"] is not None
        or event["subject"] is not None
    ):
        return ENCODER.encode(event)
    return (
        f'{{"specversion":"{event["specversion"]}","id":"{event["id"]}",'
        f'"source":"{event["source"]}","type":"{event["type"]}","time":"{event["time"]}",'
        f'"dataschema":"{event["dataschema"]}","datacontenttype":"{event["datacontenttype"]}",'
        f'"producedtime":null,"subject":null,"data":{layout[1](data)}}}'
    )
