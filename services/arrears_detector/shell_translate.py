"""Between the topics (JSON contracts) and the core (plain dataclasses).

Field names are identical on both sides by design (docs/briefs/contract-fields.md), so the
translation is a table of types; the core re-checks money and dates on construction (and
``decode``'s fast path makes the same checks inline for the canonical shapes).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, Final

import msgspec

from schemas.ids import deterministic_id
from schemas.money import CANONICAL_NON_NEGATIVE_PATTERN, CANONICAL_POSITIVE_PATTERN
from schemas.signals import ArrearsSignal, DayClosed
from services.arrears_detector import events as domain
from services.arrears_detector.events import slot_setters
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
    publishing it (issue 9: validation once, at the edge). Canonical records take
    ``_decode_fast``; whatever it does not recognise goes through ``decode_validating``, which
    alone decides: the result, or ``UndecodableEventError``, is always that function's.
    """
    if type(raw) is bytes:
        try:
            fast = _decode_fast(raw)
        except Exception:  # anything unexpected: the validating path judges it
            fast = None
        if fast is not None:
            return fast
    return decode_validating(raw)


def decode_validating(raw: bytes) -> tuple[domain.DomainEvent, str]:
    """``decode`` through the core's validating constructors (json.loads, then a dataclass
    whose ``__post_init__`` re-checks ids, dates and money). Raises ``UndecodableEventError``
    for anything that is not a canonical event."""
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


# --- the fast path -------------------------------------------------------------------------
# For a record in the shapes ingest publishes (UTF-8 JSON object, canonical two-decimal amount
# strings, plain ISO dates), build the core event directly: the checks ``__post_init__`` makes,
# done inline for these shapes, and the fields stored by ``slot_setters``. A builder
# returns ``None`` (or raises) for anything else, and ``decode`` then asks
# ``decode_validating``. So the fast path only ever returns what the validating path would
# (tests/unit/detector/test_fast_paths.py holds the two equal, errors included).
# Canonical amount strings are exactly the inputs for which ``Decimal(text)`` already is the
# ``money.normalised`` value (same digits, exponent -2, positive where it must be).

_POSITIVE: Final = re.compile(CANONICAL_POSITIVE_PATTERN).fullmatch
_NON_NEGATIVE: Final = re.compile(CANONICAL_NON_NEGATIVE_PATTERN).fullmatch
_MAX_ID: Final = 128
_EUR: Final = "EUR"
_new: Final = object.__new__
_loads: Final = msgspec.json.Decoder().decode


def _ids(*values: object) -> bool:
    """True when every value is what ``events._check_id`` accepts."""
    for value in values:  # noqa: SIM110 (a loop: no generator frame on the hot path)
        if type(value) is not str or not 0 < len(value) <= _MAX_ID:
            return False
    return True


_DUE: Final = slot_setters(domain.InstalmentDue)
_COMPONENTS: Final = slot_setters(domain.InstalmentComponents)
_COLLECTED: Final = slot_setters(domain.DirectDebitCollected)
_REJECTED: Final = slot_setters(domain.DirectDebitRejected)
_REVERSAL: Final = slot_setters(domain.DirectDebitReturned)
assert slot_setters(domain.DirectDebitRefunded) == _REVERSAL  # one slot layout, inherited
_RECEIVED: Final = slot_setters(domain.PaymentReceived)
_CLOSED: Final = slot_setters(domain.BusinessDayClosed)


def _components(d: Any) -> domain.InstalmentComponents | None:
    principal, interest, fees = d["principal"], d["interest"], d["fees"]
    if not (_NON_NEGATIVE(principal) and _NON_NEGATIVE(interest) and _NON_NEGATIVE(fees)):
        return None
    c = _new(domain.InstalmentComponents)
    s = _COMPONENTS
    s[0](c, Decimal(principal))
    s[1](c, Decimal(interest))
    s[2](c, Decimal(fees))
    return c


def _instalment_due(event_id: str, d: Any) -> domain.DomainEvent | None:
    loan, client, instalment = d["loan_id"], d["client_id"], d["instalment_id"]
    amount, balance = d["amount"], d["outstanding_balance"]
    components = d.get("components")
    if not (
        _ids(event_id, loan, client, instalment)
        and d["currency"] == _EUR
        and _POSITIVE(amount)
        and _NON_NEGATIVE(balance)
    ):
        return None
    if components is not None:
        components = _components(components)
        if components is None:
            return None
    e = _new(domain.InstalmentDue)
    s = _DUE
    s[0](e, event_id)
    s[1](e, loan)
    s[2](e, client)
    s[3](e, instalment)
    s[4](e, date.fromisoformat(d["due_date"]))
    s[5](e, Decimal(amount))
    s[6](e, _EUR)
    s[7](e, Decimal(balance))
    s[8](e, components)
    return e


def _collected(event_id: str, d: Any) -> domain.DomainEvent | None:
    loan, client, e2e = d["loan_id"], d["client_id"], d["end_to_end_id"]
    mandate, reference, amount = d["mandate_id"], d["bank_reference"], d["amount"]
    instalment = d.get("instalment_id")
    if not (
        _ids(event_id, loan, client, e2e, mandate, reference)
        and (instalment is None or _ids(instalment))
        and d["currency"] == _EUR
        and _POSITIVE(amount)
    ):
        return None
    e = _new(domain.DirectDebitCollected)
    s = _COLLECTED
    s[0](e, event_id)
    s[1](e, loan)
    s[2](e, client)
    s[3](e, e2e)
    s[4](e, mandate)
    s[5](e, reference)
    s[6](e, date.fromisoformat(d["booking_date"]))
    s[7](e, Decimal(amount))
    s[8](e, _EUR)
    s[9](e, instalment)
    s[10](e, d.get("debtor_iban"))
    return e


def _failure_checked(event_id: str, d: Any) -> bool:
    """The checks every failed direct debit shares (its bank reference: the caller's)."""
    code = d["reason_code"]
    return (
        _ids(event_id, d["loan_id"], d["client_id"], d["end_to_end_id"], d["mandate_id"])
        and d["currency"] == _EUR
        and _POSITIVE(d["amount"]) is not None
        and type(code) is str
        and len(code) == 4
        and d["reason_category"] in domain.REASON_CATEGORIES
    )


def _rejected(event_id: str, d: Any) -> domain.DomainEvent | None:
    reference = d.get("bank_reference")
    if not (_failure_checked(event_id, d) and (reference is None or _ids(reference))):
        return None
    e = _new(domain.DirectDebitRejected)
    s = _REJECTED
    s[0](e, event_id)
    s[1](e, d["loan_id"])
    s[2](e, d["client_id"])
    s[3](e, d["end_to_end_id"])
    s[4](e, d["mandate_id"])
    s[5](e, date.fromisoformat(d["booking_date"]))
    s[6](e, Decimal(d["amount"]))
    s[7](e, _EUR)
    s[8](e, d["reason_code"])
    s[9](e, d["reason_category"])
    s[10](e, reference)
    return e


def _reversal(
    cls: type[domain.DirectDebitReturned | domain.DirectDebitRefunded],
) -> Callable[[str, Any], domain.DomainEvent | None]:
    def build(event_id: str, d: Any) -> domain.DomainEvent | None:
        reference = d["bank_reference"]
        if not (_failure_checked(event_id, d) and _ids(reference)):
            return None
        e = _new(cls)
        s = _REVERSAL
        s[0](e, event_id)
        s[1](e, d["loan_id"])
        s[2](e, d["client_id"])
        s[3](e, d["end_to_end_id"])
        s[4](e, d["mandate_id"])
        s[5](e, reference)
        s[6](e, date.fromisoformat(d["booking_date"]))
        s[7](e, Decimal(d["amount"]))
        s[8](e, _EUR)
        s[9](e, d["reason_code"])
        s[10](e, d["reason_category"])
        return e

    return build


def _received(event_id: str, d: Any) -> domain.DomainEvent | None:
    loan, client, reference, amount = d["loan_id"], d["client_id"], d["bank_reference"], d["amount"]
    e2e = d.get("end_to_end_id")
    if not (
        _ids(event_id, loan, client, reference)
        and (e2e is None or _ids(e2e))
        and d["currency"] == _EUR
        and _POSITIVE(amount)
    ):
        return None
    e = _new(domain.PaymentReceived)
    s = _RECEIVED
    s[0](e, event_id)
    s[1](e, loan)
    s[2](e, client)
    s[3](e, reference)
    s[4](e, date.fromisoformat(d["booking_date"]))
    s[5](e, Decimal(amount))
    s[6](e, _EUR)
    s[7](e, e2e)
    return e


def _closed(event_id: str, d: Any) -> domain.DomainEvent | None:
    if not (_ids(event_id) and d["calendar"] == "TARGET2"):
        return None
    e = _new(domain.BusinessDayClosed)
    s = _CLOSED
    s[0](e, event_id)
    s[1](e, date.fromisoformat(d["business_date"]))
    s[2](e, "TARGET2")
    return e


_BUILDERS: Final[dict[str, Callable[[str, Any], domain.DomainEvent | None]]] = {
    "instalment_due": _instalment_due,
    "direct_debit_collected": _collected,
    "direct_debit_rejected": _rejected,
    "direct_debit_returned": _reversal(domain.DirectDebitReturned),
    "direct_debit_refunded": _reversal(domain.DirectDebitRefunded),
    "payment_received": _received,
    "business_day_closed": _closed,
    # Pauses and restructurings are rare: the validating path is fast enough for them.
}


def _decode_fast(raw: bytes) -> tuple[domain.DomainEvent, str] | None:
    """``decode_validating(raw)`` for canonical records, ``None`` (or an exception) otherwise.

    msgspec's JSON decoder (C, reads the bytes without decoding them to text first: 0.8 µs
    against 1.9 µs for ``json``'s ``raw_decode`` of a collection record) returns what
    ``json.loads`` does for UTF-8 JSON. What it refuses and ``json.loads`` reads (a BOM,
    UTF-16 or UTF-32, NaN, lone surrogates, floats out of range) raises here and goes to
    ``json.loads``. Not orjson: Faust switches its own JSON codec to orjson when it is
    installed, which would change every changelog's bytes (docs/performance.md).
    """
    message = _loads(raw)
    if type(message) is not dict:
        return None
    build = _BUILDERS.get(message["type"])
    data, event_time = message["data"], message["time"]
    if build is None or type(data) is not dict or type(event_time) is not str:
        return None
    event = build(message["id"], data)
    if event is None:
        return None
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
