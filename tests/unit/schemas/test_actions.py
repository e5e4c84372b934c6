from __future__ import annotations

import pytest
from pydantic import ValidationError

from schemas.actions import ActionDecision, SofieActionRequest, SofieActionResponse
from schemas.codec import decode, encode
from schemas.errors import field_errors
from tests.unit.schemas.examples import (
    ACTION_DECISION,
    SOFIE_REQUEST,
    SOFIE_RESPONSE,
    fresh,
)


def test_action_decision_round_trips() -> None:
    decision = ActionDecision.model_validate(ACTION_DECISION)
    assert decode(encode(decision), ActionDecision) == decision


@pytest.mark.parametrize(
    ("arm", "status", "ok"),
    [
        ("control", "shadow", True),
        ("control", "planned", False),
        ("treatment", "planned", True),
        ("treatment", "shadow", False),
        ("treatment", "suppressed", True),
        ("control", "suppressed", True),
        ("control", "bank_process", False),
    ],
)
def test_arm_and_status_must_agree(arm: str, status: str, ok: bool) -> None:
    example = fresh(ACTION_DECISION) | {"arm": arm, "status": status}
    if ok:
        assert ActionDecision.model_validate(example).status == status
    else:
        with pytest.raises(ValidationError, match=r"arm_status|bank_process"):
            ActionDecision.model_validate(example)


@pytest.mark.parametrize(
    ("field", "value"),
    [("channel", "sms"), ("status", "sent"), ("reason", "free text with spaces"), ("arm", "both")],
)
def test_action_decision_rejections(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as info:
        ActionDecision.model_validate(fresh(ACTION_DECISION) | {field: value})
    assert [error.loc for error in field_errors(info.value)] == [field]


def test_sofie_request_round_trips_with_a_json_payload() -> None:
    request = SofieActionRequest.model_validate(SOFIE_REQUEST)
    assert decode(encode(request), SofieActionRequest) == request


def test_sofie_never_gets_the_bank_process_channel() -> None:
    with pytest.raises(ValidationError):
        SofieActionRequest.model_validate(fresh(SOFIE_REQUEST) | {"channel": "bank_process"})


def test_sofie_response_tolerates_new_fields_from_sofie() -> None:
    raw = encode(SofieActionResponse.model_validate(SOFIE_RESPONSE))
    response = decode(raw[:-1] + b',"eta":"soon"}', SofieActionResponse)
    assert response.sofie_action_id == "sofie-998"
    with pytest.raises(ValidationError):
        SofieActionResponse.model_validate(fresh(SOFIE_RESPONSE) | {"status": "queued"})
