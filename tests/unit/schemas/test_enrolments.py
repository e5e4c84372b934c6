from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.codec import decode_enrolment, encode
from tests.unit.schemas.examples import ENROLMENT, error_locs, fresh


def _reject(example: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        decode_enrolment(json.dumps(example))
    return error_locs(info.value)


def test_enrolment_round_trips() -> None:
    enrolment = decode_enrolment(json.dumps(ENROLMENT))
    assert enrolment.data.loan_ids == ("L-0001", "L-0002")
    assert decode_enrolment(encode(enrolment)) == enrolment
    assert json.loads(encode(enrolment))["dataschema"] == "urn:nazorg:schema:pilot.enrollments:v1"


def test_empty_loan_ids_are_rejected() -> None:
    example = fresh(ENROLMENT)
    example["data"]["loan_ids"] = []
    assert list(_reject(example)) == ["data.loan_ids"]


def test_duplicate_loan_ids_are_rejected() -> None:
    example = fresh(ENROLMENT)
    example["data"]["loan_ids"] = ["L-1", "L-1"]
    assert _reject(example) == {"data.loan_ids": "must not contain duplicates"}


def test_a_bad_loan_id_is_reported_with_its_index() -> None:
    example = fresh(ENROLMENT)
    example["data"]["loan_ids"] = ["L-1", "L 2"]
    assert list(_reject(example)) == ["data.loan_ids.1"]


def test_unknown_segment_is_rejected() -> None:
    example = fresh(ENROLMENT)
    example["data"]["segment"] = "vip"
    assert list(_reject(example)) == ["data.segment"]
