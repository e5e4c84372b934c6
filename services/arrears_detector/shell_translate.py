"""Between the topics (JSON contracts) and the core (plain dataclasses).

Field names are identical on both sides by design (docs/briefs/contract-fields.md), so the
translation is a table of types; the core re-checks money and dates on construction.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from decimal import Decimal
from typing import Any, Final

from schemas.ids import deterministic_id
from schemas.signals import ArrearsSignal, DayClosed
from services.arrears_detector import events as domain
from services.arrears_detector.signals import Signal

SOURCE: Final = "nazorg/arrears-detector"

_DOMAIN_TYPES: Final[dict[str, type[Any]]] = {
    "instalment_due": domain.InstalmentDue,
    "direct_debit_collected": domain.DirectDebitCollected,
    "direct_debit_rejected": domain.DirectDebitRejected,
    "direct_debit_returned": domain.DirectDebitReturned,
    "direct_debit_refunded": domain.DirectDebitRefunded,
    "payment_received": domain.PaymentReceived,
    "payment_pause_agreed": domain.PaymentPauseAgreed,
    "payment_pause_ended": domain.PaymentPauseEnded,
    "loan_restructured": domain.LoanRestructured,
    "business_day_closed": domain.BusinessDayClosed,
}
_FIELDS_BY_CLASS: Final = {
    cls: tuple(f.name for f in dataclasses.fields(cls) if f.name != "event_id")
    for cls in (*_DOMAIN_TYPES.values(), domain.InstalmentComponents)
}


class UndecodableEventError(ValueError):
    """A record on the events topic that is not a canonical payment event."""


def _money(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise TypeError("money must be a JSON string")
    return Decimal(value)


def _convert(cls: type[Any], data: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {n: data[n] for n in _FIELDS_BY_CLASS[cls] if n in data}
    for name in cls._dates:
        fields[name] = date.fromisoformat(fields[name])
    for name in (*cls._positive, *cls._non_negative):
        fields[name] = _money(fields[name])
    return fields


def decode(raw: bytes) -> tuple[domain.DomainEvent, str]:
    """A record of payments.events.v1 as (core event, event time in ISO 8601).

    No second pydantic validation: ingest validated every event against the contract before
    publishing it, and the core's dataclasses re-check ids, dates and money on construction.
    This keeps decoding out of the hot path (json.loads plus a constructor per event). Raises
    ``UndecodableEventError`` for anything that is not a canonical event.
    """
    try:
        message = json.loads(raw)
        cls = _DOMAIN_TYPES[message["type"]]
        fields = _convert(cls, message["data"])
        components = fields.get("components")
        if components is not None:
            fields["components"] = domain.InstalmentComponents(
                **_convert(domain.InstalmentComponents, components)
            )
        event: domain.DomainEvent = cls(event_id=message["id"], **fields)
        event_time = message["time"]
    except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
        raise UndecodableEventError(type(exc).__name__) from exc
    if not isinstance(event_time, str):
        raise UndecodableEventError("time must be a string")
    return event, event_time


def to_contract(signal: Signal, time_of_event: str) -> ArrearsSignal:
    """The signal as published on arrears.signals.v1; ``time`` is the causing event's time."""
    return ArrearsSignal.model_validate(
        {
            "id": signal.signal_id,
            "source": SOURCE,
            "type": signal.type,
            "time": time_of_event,
            "data": {
                "loan_id": signal.loan_id,
                "client_id": signal.client_id,
                "business_date": signal.business_date,
                "dpd": signal.dpd,
                "past_due_amount": signal.past_due_amount,
                "exposure": signal.exposure,
                "cause_event_ids": list(signal.cause_event_ids),
                "instalment_id": signal.instalment_id,
                "reason_code": signal.reason_code,
                "reason_category": signal.reason_category,
                "bucket": signal.bucket,
            },
        }
    )


def day_closed_marker(
    partition: int, partitions: int, business_date: str, time_of_event: str
) -> DayClosed:
    """The progress marker sent to ``partition`` of arrears.signals.v1 after a day's close."""
    return DayClosed.model_validate(
        {
            "id": deterministic_id("detector_day_closed", str(partition), business_date),
            "source": SOURCE,
            "type": "detector_day_closed",
            "time": time_of_event,
            "data": {
                "source_partition": partition,
                "partitions": partitions,
                "business_date": business_date,
            },
        }
    )
