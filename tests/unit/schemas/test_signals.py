from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from schemas.codec import decode_signal, encode
from schemas.sepa import ReasonCategory
from schemas.vocabulary import SignalType
from tests.unit.schemas.examples import SIGNAL, error_locs, fresh


def _reject(example: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        decode_signal(json.dumps(example))
    return error_locs(info.value)


@pytest.mark.parametrize("type_", get_args(SignalType))
def test_every_signal_type_round_trips(type_: str) -> None:
    example = fresh(SIGNAL)
    example["type"] = type_
    signal = decode_signal(json.dumps(example))
    assert signal.type == type_
    assert decode_signal(encode(signal)) == signal
    assert encode(decode_signal(encode(signal))) == encode(signal)


def test_there_are_13_signal_types() -> None:
    assert len(get_args(SignalType)) == 13


def test_reason_category_follows_the_code() -> None:
    assert decode_signal(json.dumps(SIGNAL)).data.reason_category is ReasonCategory.RETRYABLE


def test_without_a_code_there_is_no_category() -> None:
    example = fresh(SIGNAL)
    del example["data"]["reason_code"]
    assert decode_signal(json.dumps(example)).data.reason_category is None
    example["data"]["reason_category"] = "retryable"
    assert _reject(example) == {"data.reason_category": "reason_category requires a reason_code"}


def test_contradicting_category_is_rejected() -> None:
    example = fresh(SIGNAL)
    example["data"]["reason_category"] = "unknown"
    assert list(_reject(example)) == ["data.reason_category"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dpd", -1),
        ("dpd", "3"),
        ("dpd", 3.0),
        ("past_due_amount", 12.5),
        ("past_due_amount", "-1.00"),
        ("cause_event_ids", []),
        ("bucket", "0-30"),
    ],
)
def test_signal_data_rejections_name_the_field(field: str, value: object) -> None:
    example = fresh(SIGNAL)
    example["data"][field] = value
    assert f"data.{field}" in _reject(example)


def test_past_due_amount_may_be_zero() -> None:
    example = fresh(SIGNAL)
    example["type"] = "arrears_cured"
    example["data"].update(past_due_amount="0", dpd=0, bucket=None)
    assert str(decode_signal(json.dumps(example)).data.past_due_amount) == "0.00"


def test_unknown_signal_type_is_rejected() -> None:
    example = fresh(SIGNAL)
    example["type"] = "arrears_forgiven"
    assert list(_reject(example)) == ["type"]
