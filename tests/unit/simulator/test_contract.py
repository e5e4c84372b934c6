"""Every generated event is a valid payments.events.v1 message in its canonical bytes."""

from __future__ import annotations

import json
from typing import get_args

from schemas.codec import encode
from schemas.enrolments import Enrolment
from schemas.payments import PAYMENT_EVENT_ADAPTER, PaymentEventType
from services.simulator import enrolment_events
from services.simulator.output import encode_event
from services.simulator.wire import ENCODER, to_json
from tests.unit.simulator.conftest import Run


def test_the_small_run_covers_every_event_type(small_run: Run) -> None:
    assert {e["type"] for e in small_run.events} == set(get_args(PaymentEventType))
    codes = {e["data"]["reason_code"] for e in small_run.events if "reason_code" in e["data"]}
    assert codes == {"AM04", "MS03", "MD06", "AC04", "MD01"}


def test_every_event_validates_and_is_already_canonical(small_run: Run) -> None:
    for event in small_run.events:
        model = PAYMENT_EVENT_ADAPTER.validate_python(event)
        canonical = encode(model)
        # The dict is exactly the serialization flavour: same fields, order and forms ...
        assert PAYMENT_EVENT_ADAPTER.dump_python(model, mode="json") == event
        # ... so both writers produce the codec's bytes without pydantic.
        assert ENCODER.encode(event).encode() == canonical
        assert encode_event(event) == canonical


def test_the_fast_writer_falls_back_to_json_for_an_unexpected_shape(small_run: Run) -> None:
    event = json.loads(json.dumps(small_run.events[0]))
    event["producedtime"] = "2026-10-01T00:00:00Z"
    assert to_json(event) == ENCODER.encode(event)
    event["data"]["extra"] = "x"
    assert to_json(event) == ENCODER.encode(event)


def test_money_is_always_a_two_decimal_string(small_run: Run) -> None:
    money_fields = {"amount", "outstanding_balance"}
    for event in small_run.events:
        for name, value in event["data"].items():
            if name in money_fields:
                assert isinstance(value, str)
                assert value.split(".")[1].__len__() == 2


def test_enrolment_messages_match_pilot_enrollments_v1(small_run: Run) -> None:
    messages = enrolment_events(small_run.cohort)
    assert len(messages) == len(small_run.cohort)
    for message in messages:
        model = Enrolment.model_validate(message)
        assert encode(model) == ENCODER.encode(message).encode()
    assert [m["data"]["enrolment_date"] for m in messages] == sorted(
        m["data"]["enrolment_date"] for m in messages
    )
