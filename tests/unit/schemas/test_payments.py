from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from schemas.codec import decode_payment_event, encode
from schemas.payments import (
    PAYMENT_EVENT_ADAPTER,
    BusinessDayClosed,
    DirectDebitCollected,
    DirectDebitRejected,
    DirectDebitReturned,
    PaymentEventType,
    PaymentReceived,
)
from schemas.sepa import ReasonCategory
from tests.unit.schemas.examples import PAYMENT_EVENTS, error_locs, fresh


def _reject(example: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        decode_payment_event(json.dumps(example))
    return error_locs(info.value)


def test_there_is_one_example_per_payment_event_type() -> None:
    assert set(PAYMENT_EVENTS) == set(get_args(PaymentEventType))


@pytest.mark.parametrize("type_", sorted(PAYMENT_EVENTS))
def test_every_payment_event_round_trips(type_: str) -> None:
    event = decode_payment_event(json.dumps(PAYMENT_EVENTS[type_]))
    assert event.type == type_
    wire = encode(event)
    again = decode_payment_event(wire)
    assert again == event
    assert encode(again) == wire  # canonical: a second trip changes no byte


def test_canonical_form_fills_defaults_and_normalises() -> None:
    event = decode_payment_event(json.dumps(PAYMENT_EVENTS["payment_received"]))
    assert isinstance(event, PaymentReceived)
    wire = json.loads(encode(event))
    assert wire["specversion"] == "1.0"
    assert wire["dataschema"] == "urn:nazorg:schema:payments.events:v1"
    assert wire["datacontenttype"] == "application/json"
    assert wire["time"] == "2026-03-02T08:30:00Z"
    assert wire["data"]["amount"] == "250.50"
    assert event.data.amount == Decimal("250.50")


def test_reason_category_is_filled_from_the_code() -> None:
    event = decode_payment_event(json.dumps(PAYMENT_EVENTS["direct_debit_returned"]))
    assert isinstance(event, DirectDebitReturned)
    assert event.data.reason_category is ReasonCategory.MANDATE_BROKEN
    assert json.loads(encode(event))["data"]["reason_category"] == "mandate_broken"


def test_reason_category_that_contradicts_the_code_is_rejected() -> None:
    example = fresh(PAYMENT_EVENTS["direct_debit_rejected"])
    example["data"]["reason_category"] = "mandate_broken"
    errors = _reject(example)
    assert errors == {"data.reason_category": "does not match reason_code AM04: expected retryable"}


def test_python_construction_fills_the_category_too() -> None:
    event = DirectDebitRejected.model_validate(PAYMENT_EVENTS["direct_debit_rejected"])
    data = event.data.model_dump(exclude={"reason_category"})
    rebuilt = type(event.data)(**data)
    assert rebuilt.reason_category is ReasonCategory.RETRYABLE


@pytest.mark.parametrize(
    ("field", "value", "loc"),
    [
        ("amount", 1000.0, "data.amount"),
        ("amount", 1000, "data.amount"),
        ("amount", "1000.005", "data.amount"),
        ("amount", "-1000.00", "data.amount"),
        ("amount", "0.00", "data.amount"),
        ("outstanding_balance", 250000.0, "data.outstanding_balance"),
        ("currency", "USD", "data.currency"),
        ("due_date", "2026-03-01T00:00:00Z", "data.due_date"),
        ("instalment_id", "", "data.instalment_id"),
        ("surprise", "field", "data.surprise"),
    ],
)
def test_instalment_due_rejections_name_the_field(field: str, value: object, loc: str) -> None:
    example = fresh(PAYMENT_EVENTS["instalment_due"])
    example["data"][field] = value
    assert loc in _reject(example)


def test_a_float_amount_is_rejected_with_the_reason() -> None:
    example = fresh(PAYMENT_EVENTS["instalment_due"])
    example["data"]["amount"] = 1000.0
    assert "floats are never money" in _reject(example)["data.amount"]


def test_negative_component_is_rejected_but_zero_is_fine() -> None:
    example = fresh(PAYMENT_EVENTS["instalment_due"])
    example["data"]["components"]["fees"] = "-0.01"
    assert "data.components.fees" in _reject(example)


def test_naive_event_time_is_rejected() -> None:
    example = fresh(PAYMENT_EVENTS["instalment_due"])
    example["time"] = "2026-03-02T09:30:00"
    assert "must be timezone-aware" in _reject(example)["time"]


def test_unknown_type_is_reported_at_type() -> None:
    example = fresh(PAYMENT_EVENTS["instalment_due"])
    example["type"] = "instalment_forgiven"
    assert list(_reject(example)) == ["type"]


def test_missing_type_is_reported_at_type() -> None:
    example = fresh(PAYMENT_EVENTS["instalment_due"])
    del example["type"]
    assert list(_reject(example)) == ["type"]


def test_extra_envelope_field_is_rejected() -> None:
    example = fresh(PAYMENT_EVENTS["payment_received"])
    example["traceparent"] = "00-abc"
    assert list(_reject(example)) == ["traceparent"]


def test_another_topic_version_is_rejected() -> None:
    example = fresh(PAYMENT_EVENTS["payment_received"])
    example["dataschema"] = "urn:nazorg:schema:payments.events:v2"
    assert list(_reject(example)) == ["dataschema"]


@pytest.mark.parametrize(
    "iban",
    ["NL91ABNA0417164301", "NL91ABNA041716430", "XX91ABNA0417164300", "NL91 ABNA 0417 1643 00"],
)
def test_bad_iban_is_rejected(iban: str) -> None:
    example = fresh(PAYMENT_EVENTS["direct_debit_collected"])
    example["data"]["debtor_iban"] = iban
    assert "data.debtor_iban" in _reject(example)


def test_errors_never_echo_the_iban() -> None:
    example = fresh(PAYMENT_EVENTS["direct_debit_collected"])
    example["data"]["debtor_iban"] = "NL91ABNA0417164301"
    with pytest.raises(ValidationError) as info:
        decode_payment_event(json.dumps(example))
    assert "0417164301" not in str(info.value)
    assert "0417164301" not in json.dumps(error_locs(info.value))


def test_iban_is_optional_on_collections() -> None:
    example = fresh(PAYMENT_EVENTS["direct_debit_collected"])
    del example["data"]["debtor_iban"]
    event = decode_payment_event(json.dumps(example))
    assert isinstance(event, DirectDebitCollected)
    assert event.data.debtor_iban is None


def test_malformed_reason_code_is_rejected() -> None:
    example = fresh(PAYMENT_EVENTS["direct_debit_returned"])
    example["data"]["reason_code"] = "am04"
    assert list(_reject(example)) == ["data.reason_code"]


def test_pause_cannot_end_before_it_starts() -> None:
    example = fresh(PAYMENT_EVENTS["payment_pause_agreed"])
    example["data"]["end_date"] = "2026-03-31"
    assert _reject(example) == {"data.end_date": "must not be before start_date"}


def test_business_day_closed_has_no_loan() -> None:
    example = fresh(PAYMENT_EVENTS["business_day_closed"])
    example["data"]["loan_id"] = "L-0001"
    assert list(_reject(example)) == ["data.loan_id"]
    example = fresh(PAYMENT_EVENTS["business_day_closed"])
    example["data"]["calendar"] = "NL"
    assert list(_reject(example)) == ["data.calendar"]


def test_strict_types_for_flags() -> None:
    example = fresh(PAYMENT_EVENTS["loan_restructured"])
    example["data"]["distressed"] = "true"
    assert list(_reject(example)) == ["data.distressed"]


def test_events_are_immutable() -> None:
    event = PAYMENT_EVENT_ADAPTER.validate_python(PAYMENT_EVENTS["business_day_closed"])
    assert isinstance(event, BusinessDayClosed)
    with pytest.raises(ValidationError):
        event.id = "other"  # type: ignore[misc]


@pytest.mark.parametrize("type_", sorted(PAYMENT_EVENTS))
def test_python_mode_on_parsed_json_judges_exactly_like_json_mode(type_: str) -> None:
    # Ingest may json.loads a batch and validate item by item: same verdicts, same values.
    raw = json.dumps(PAYMENT_EVENTS[type_])
    assert PAYMENT_EVENT_ADAPTER.validate_python(json.loads(raw)) == decode_payment_event(raw)


def test_python_mode_rejects_a_float_amount_too() -> None:
    example = fresh(PAYMENT_EVENTS["payment_received"])
    example["data"]["amount"] = 250.5
    with pytest.raises(ValidationError) as info:
        PAYMENT_EVENT_ADAPTER.validate_python(example)
    assert list(error_locs(info.value)) == ["data.amount"]
