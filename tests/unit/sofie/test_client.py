"""The pure parts of our Sofie client: answer classification and the callback token check."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from schemas.sofie_api import SofieError
from services.intervention.sofie_client import DeliveryResult, classify, verify_callback_token

KEY = "act-1"


def accepted(status: str = "accepted", key: str = KEY) -> bytes:
    return f'{{"idempotency_key":"{key}","sofie_action_id":"sfa-9","status":"{status}"}}'.encode()


def error(code: str) -> bytes:
    return SofieError(error=code, detail="x").model_dump_json().encode()


def test_accepted_and_duplicate_answers_carry_the_action_id() -> None:
    assert classify(202, accepted(), KEY) == ("delivered", "sfa-9", None)
    assert classify(200, accepted("duplicate"), KEY) == ("duplicate", "sfa-9", None)


def test_unknown_response_fields_are_ignored() -> None:
    body = accepted()[:-1] + b',"channel_eta":"soon"}'
    assert classify(202, body, KEY)[0] == "delivered"


def test_an_unreadable_success_is_retried_and_another_key_is_permanent() -> None:
    assert classify(202, b"<html>ok</html>", KEY) == (
        "retryable",
        None,
        "unreadable_response:http_202",
    )
    assert classify(202, accepted(key="act-2"), KEY) == ("permanent", None, "response_key_mismatch")


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422])
def test_client_errors_are_permanent(status: int) -> None:
    outcome, action_id, err = classify(status, error("some_code"), KEY)
    assert (outcome, action_id) == ("permanent", None)
    assert err == f"http_{status}:some_code"


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
def test_overload_and_server_errors_are_retryable(status: int) -> None:
    assert classify(status, b"gateway says no", KEY) == ("retryable", None, f"http_{status}")


def test_only_sent_outcomes_count_as_sent() -> None:
    assert DeliveryResult("duplicate", "sfa-1", 200, None, 0.1).sent
    assert not DeliveryResult("retryable", None, None, "timeout:ReadTimeout", 0.5).sent


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("Bearer s3cret-callback-token", True),
        ("bearer s3cret-callback-token", True),
        ("Bearer s3cret-callback-tokeN", False),
        ("Bearer s3cret-callback-token-and-more", False),
        ("Basic s3cret-callback-token", False),
        ("s3cret-callback-token", False),
        ("Bearer ", False),
        ("", False),
        (None, False),
    ],
)
def test_the_callback_token_must_match_exactly(header: str | None, ok: bool) -> None:
    assert verify_callback_token(header, SecretStr("s3cret-callback-token")) is ok


def test_an_empty_expected_token_matches_nothing() -> None:
    assert not verify_callback_token("Bearer ", SecretStr(""))
    assert not verify_callback_token("Bearer x", SecretStr(""))
