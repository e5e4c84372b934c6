"""Between the contracts (pydantic, JSON) and the core (plain dataclasses).

Field names are identical on both sides by design (docs/briefs/contract-fields.md), so the
translation is a table of types; the core re-checks money and dates on construction.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any, Final

from schemas.payments import PaymentEvent
from schemas.signals import ArrearsSignal
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
_FIELDS: Final = {
    name: tuple(f.name for f in dataclasses.fields(cls) if f.name != "event_id")
    for name, cls in _DOMAIN_TYPES.items()
}


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    return value


def to_domain(event: PaymentEvent) -> domain.DomainEvent:
    """The core's view of a validated payment event."""
    data = event.data
    fields = {name: _plain(getattr(data, name)) for name in _FIELDS[event.type]}
    components = fields.get("components")
    if components is not None:
        fields["components"] = domain.InstalmentComponents(
            principal=components.principal, interest=components.interest, fees=components.fees
        )
    result: domain.DomainEvent = _DOMAIN_TYPES[event.type](event_id=event.id, **fields)
    return result


def to_contract(signal: Signal, time_of_event: Any) -> ArrearsSignal:
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
