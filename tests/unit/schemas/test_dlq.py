from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from schemas.codec import decode_dead_letter, encode
from schemas.dlq import DeadLetter, DeadLetterData, encode_payload
from schemas.ingest_api import FieldError
from tests.unit.schemas.examples import DEAD_LETTER, fresh

RECEIVED = datetime(2026, 3, 2, 10, tzinfo=UTC)


def test_dead_letter_round_trips() -> None:
    record = decode_dead_letter(json.dumps(DEAD_LETTER))
    assert isinstance(record, DeadLetter)
    assert decode_dead_letter(encode(record)) == record


@pytest.mark.parametrize("raw", [b'{"a": "\xc3\xa9"}', b"\xff\xfe\x00binary", b""])
def test_payload_bytes_survive_exactly(raw: bytes) -> None:
    data = DeadLetterData.from_bytes(
        raw, errors=(), source="http", reason="invalid_json", received_at=RECEIVED
    )
    assert data.encoding == encode_payload(raw)[1]
    assert data.payload_bytes() == raw
    assert DeadLetterData.model_validate_json(encode(data)).payload_bytes() == raw


def test_utf8_stays_readable_and_the_rest_is_base64() -> None:
    assert encode_payload("é".encode()) == ("é", "utf-8")
    assert encode_payload(b"\xff") == ("/w==", "base64")


def test_invalid_base64_is_rejected() -> None:
    example = fresh(DEAD_LETTER)
    example["data"].update(encoding="base64", payload="not base64!")
    with pytest.raises(ValidationError, match="base64"):
        decode_dead_letter(json.dumps(example))


def test_kafka_position_is_required_for_kafka_and_only_for_kafka() -> None:
    example = fresh(DEAD_LETTER)
    example["data"]["source_offset"] = None
    with pytest.raises(ValidationError, match="requires"):
        decode_dead_letter(json.dumps(example))
    example = fresh(DEAD_LETTER)
    example["data"]["source"] = "http"
    with pytest.raises(ValidationError, match="are for source kafka"):
        decode_dead_letter(json.dumps(example))


def test_errors_are_kept() -> None:
    record = decode_dead_letter(json.dumps(DEAD_LETTER))
    assert record.data.errors == (FieldError(loc="data.amount", msg="must be a JSON string"),)
