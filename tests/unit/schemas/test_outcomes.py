from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from schemas.codec import decode_outcome, encode
from schemas.outcomes import OUTCOME_EVENT_ADAPTER, FollowupClosed, OutcomeEvent
from schemas.topics import SchemaMode
from tests.unit.schemas.examples import OUTCOMES, error_locs, fresh

FORBIDDEN = ("client_id", "loan_id", "loan_ids", "iban", "debtor_iban", "amount")


def _reject(example: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        decode_outcome(json.dumps(example))
    return error_locs(info.value)


def _property_names(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                yield from value
            yield from _property_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _property_names(item)


def test_there_is_one_example_per_outcome_type() -> None:
    union = get_args(get_args(OutcomeEvent)[0])
    types = {get_args(model.model_fields["type"].annotation)[0] for model in union}
    assert types == set(OUTCOMES)


@pytest.mark.parametrize("type_", sorted(OUTCOMES))
def test_every_outcome_round_trips(type_: str) -> None:
    outcome = decode_outcome(json.dumps(OUTCOMES[type_]))
    assert outcome.type == type_
    assert decode_outcome(encode(outcome)) == outcome
    assert encode(decode_outcome(encode(outcome))) == encode(outcome)


@pytest.mark.parametrize("mode", ["validation", "serialization"])
def test_no_identifying_or_monetary_field_exists_anywhere(mode: SchemaMode) -> None:
    schema = OUTCOME_EVENT_ADAPTER.json_schema(mode=mode)
    names = set(_property_names(schema))
    assert "subject" in names  # the walk does see the envelope
    leaked = {name for name in names if any(word in name for word in FORBIDDEN)}
    assert leaked == set()


def test_subject_is_required_and_must_be_a_pseudonym() -> None:
    example = fresh(OUTCOMES["enrolled"])
    del example["subject"]
    assert list(_reject(example)) == ["subject"]
    example["subject"] = "C-0001"
    assert list(_reject(example)) == ["subject"]


def test_client_id_cannot_be_smuggled_into_outcome_data() -> None:
    example = fresh(OUTCOMES["signal_observed"])
    example["data"]["client_id"] = "C-0001"
    assert list(_reject(example)) == ["data.client_id"]


@pytest.mark.parametrize("share", [0, 1, 1.5, -0.1, "0.5"])
def test_intended_allocation_is_a_share_strictly_between_0_and_1(share: object) -> None:
    example = fresh(OUTCOMES["enrolled"])
    example["data"]["intended_allocation"] = share
    assert list(_reject(example)) == ["data.intended_allocation"]


def test_followup_without_arrears() -> None:
    example = fresh(OUTCOMES["followup_closed"])
    example["data"].update(
        ever_in_arrears=False, first_arrears_date=None, days_to_first_arrears=None, censored=True
    )
    outcome = decode_outcome(json.dumps(example))
    assert isinstance(outcome, FollowupClosed)
    assert outcome.data.censored is True


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"ever_in_arrears": False}, "data"),
        ({"first_arrears_date": None}, "data"),
        ({"days_to_first_arrears": None}, "data"),
        (
            {
                "ever_in_arrears": False,
                "first_arrears_date": None,
                "days_to_first_arrears": None,
                "relapse": True,
            },
            "data",
        ),
        ({"days_to_first_arrears": 400}, "data"),
        ({"max_dpd": -1}, "data.max_dpd"),
        ({"followup_days": "365"}, "data.followup_days"),
    ],
)
def test_inconsistent_followup_is_rejected(change: dict[str, Any], loc: str) -> None:
    example = fresh(OUTCOMES["followup_closed"])
    example["data"].update(change)
    assert list(_reject(example)) == [loc]


def test_suppressed_action_needs_a_reason_code() -> None:
    example = fresh(OUTCOMES["action_suppressed"])
    del example["data"]["reason"]
    assert list(_reject(example)) == ["data.reason"]
