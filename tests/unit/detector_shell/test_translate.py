"""Topic ↔ core translation: nothing is lost or changed on the way, and junk is refused."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from schemas.codec import encode
from schemas.payments import PAYMENT_EVENT_ADAPTER, PaymentEvent
from services.arrears_detector import events as domain
from services.arrears_detector.shell_translate import UndecodableEventError, decode, to_contract
from services.arrears_detector.signals import Signal
from services.sample_events import all_events


def canonical(raw: dict[str, object]) -> tuple[PaymentEvent, bytes]:
    """A sample event as ingest publishes it: validated, then encoded canonically."""
    contract = PAYMENT_EVENT_ADAPTER.validate_python(raw)
    return contract, encode(contract)


def test_every_sample_event_decodes_to_its_domain_type_and_time() -> None:
    for raw in all_events():
        contract, record = canonical(raw)
        event, event_time = decode(record)
        assert event.event_id == contract.id
        assert type(event).__name__ == type(contract).__name__
        assert event_time == json.loads(record)["time"]


@pytest.mark.parametrize(
    "record",
    [
        b"not json",
        b"[]",
        b'{"type": "no_such_event", "id": "x", "time": "t", "data": {}}',
        b'{"type": "payment_received", "id": "x", "time": "2027-01-01T00:00:00Z", "data": {}}',
    ],
)
def test_what_is_not_a_canonical_event_is_refused_cleanly(record: bytes) -> None:
    with pytest.raises(UndecodableEventError):
        decode(record)


def test_a_float_amount_is_refused() -> None:
    raw = next(e for e in all_events() if e["type"] == "payment_received")
    _, record = canonical(raw)
    tampered = json.loads(record)
    tampered["data"]["amount"] = 1250.0
    with pytest.raises(UndecodableEventError):
        decode(json.dumps(tampered).encode())


def test_instalment_due_fields_are_carried_exactly() -> None:
    raw = next(e for e in all_events() if e["type"] == "instalment_due")
    raw = {
        **raw,
        "data": {
            **raw["data"],
            "components": {"principal": "1000.00", "interest": "240.50", "fees": "9.50"},
        },
    }
    event, _ = decode(canonical(raw)[1])
    assert isinstance(event, domain.InstalmentDue)
    assert event.amount == Decimal("1250.00")
    assert event.due_date == date(2027, 2, 1)
    assert event.outstanding_balance == Decimal("250000.00")
    assert event.components == domain.InstalmentComponents(
        principal=Decimal("1000.00"), interest=Decimal("240.50"), fees=Decimal("9.50")
    )


def test_reason_category_becomes_a_plain_string() -> None:
    raw = next(e for e in all_events() if e["type"] == "direct_debit_returned")
    event, _ = decode(canonical(raw)[1])
    assert isinstance(event, domain.DirectDebitReturned)
    assert (event.reason_code, event.reason_category) == ("AM04", "retryable")
    assert type(event.reason_category) is str


def test_signal_to_contract_keeps_every_field() -> None:
    signal = Signal(
        signal_id="0" * 32,
        type="arrears_escalated",
        loan_id="L-1",
        client_id="C-1",
        business_date=date(2027, 3, 15),
        dpd=42,
        past_due_amount=Decimal("2500.00"),
        exposure=Decimal("250000.00"),
        cause_event_ids=("close-2027-03-15", "rf-1"),
        instalment_id="I-1",
        bucket="31-60",
    )
    message = to_contract(signal, "2027-03-15T18:00:00Z")
    assert message.id == signal.signal_id
    assert message.type == "arrears_escalated"
    assert message.time == datetime(2027, 3, 15, 18, tzinfo=UTC)
    data = message.data
    assert (data.loan_id, data.client_id, data.business_date, data.dpd) == (
        "L-1",
        "C-1",
        date(2027, 3, 15),
        42,
    )
    assert data.past_due_amount == Decimal("2500.00")
    assert data.exposure == Decimal("250000.00")
    assert list(data.cause_event_ids) == ["close-2027-03-15", "rf-1"]
    assert (data.instalment_id, data.bucket) == ("I-1", "31-60")
