from __future__ import annotations

import json

import pytest

from schemas.actions import ActionDecision
from schemas.codec import (
    decode_dead_letter,
    decode_enrolment,
    decode_outcome,
    decode_payment_event,
    decode_signal,
    encode,
)
from schemas.topics import CONTRACTS, TOPICS, partition_key
from tests.unit.schemas.examples import (
    ACTION_DECISION,
    DEAD_LETTER,
    ENROLMENT,
    OUTCOMES,
    PAYMENT_EVENTS,
    PSEUDONYM,
    SIGNAL,
)


def test_encode_is_compact_utf8_json_with_nulls() -> None:
    raw = encode(decode_payment_event(json.dumps(PAYMENT_EVENTS["payment_received"])))
    assert b" " not in raw
    assert json.loads(raw)["data"]["end_to_end_id"] is None
    assert raw.startswith(b'{"specversion":"1.0","id":')


def test_decoders_accept_bytes_and_str() -> None:
    text = json.dumps(ENROLMENT)
    assert decode_enrolment(text) == decode_enrolment(text.encode())


@pytest.mark.parametrize(
    ("message", "key"),
    [
        (decode_payment_event(json.dumps(PAYMENT_EVENTS["instalment_due"])), b"L-0001"),
        (decode_payment_event(json.dumps(PAYMENT_EVENTS["direct_debit_refunded"])), b"L-0001"),
        (decode_payment_event(json.dumps(PAYMENT_EVENTS["business_day_closed"])), None),
        (decode_signal(json.dumps(SIGNAL)), b"L-0001"),
        (decode_enrolment(json.dumps(ENROLMENT)), b"C-0001"),
        (decode_outcome(json.dumps(OUTCOMES["enrolled"])), PSEUDONYM.encode()),
        (decode_dead_letter(json.dumps(DEAD_LETTER)), None),
    ],
)
def test_partition_keys(message: object, key: bytes | None) -> None:
    assert partition_key(message) == key  # type: ignore[arg-type]


def test_partition_key_refuses_non_topic_messages() -> None:
    with pytest.raises(TypeError):
        partition_key(ActionDecision.model_validate(ACTION_DECISION))


def test_every_topic_has_a_contract_and_names_carry_a_version() -> None:
    assert set(TOPICS) <= set(CONTRACTS)
    assert all(name.rsplit(".", 1)[-1] == "v1" for name in CONTRACTS)
    assert all(contract.name == name for name, contract in CONTRACTS.items())


def test_inbound_may_omit_what_events_must_carry() -> None:
    inbound = CONTRACTS["payments.inbound.v1"].adapter.json_schema(mode="validation")
    defs = inbound["$defs"]
    assert "reason_category" not in defs["DirectDebitRejectedData"]["required"]
    assert "specversion" not in defs["DirectDebitRejected"]["required"]
    events = CONTRACTS["payments.events.v1"]
    emitted = events.adapter.json_schema(mode=events.mode)["$defs"]
    assert "reason_category" in emitted["DirectDebitRejectedData"]["required"]
    assert "specversion" in emitted["DirectDebitRejected"]["required"]
