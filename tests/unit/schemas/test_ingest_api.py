from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from schemas.codec import decode, decode_payment_event, encode
from schemas.errors import field_errors
from schemas.ingest_api import ErrorResponse, FieldError, IngestResponse, IngestResult
from tests.unit.schemas.examples import ERROR_RESPONSE, INGEST_RESPONSE, PAYMENT_EVENTS, fresh


def test_ingest_response_round_trips() -> None:
    response = IngestResponse.model_validate(INGEST_RESPONSE)
    assert decode(encode(response), IngestResponse) == response


def test_from_results_counts_for_you() -> None:
    results = [
        IngestResult(index=0, event_id="a", status="accepted"),
        IngestResult(
            index=1, status="rejected", errors=(FieldError(loc="data.amount", msg="bad"),)
        ),
    ]
    response = IngestResponse.from_results(results)
    assert (response.received, response.accepted, response.duplicate, response.rejected) == (
        2,
        1,
        0,
        1,
    )


def test_counts_that_disagree_with_results_are_rejected() -> None:
    with pytest.raises(ValidationError, match="counts do not agree"):
        IngestResponse.model_validate(fresh(INGEST_RESPONSE) | {"accepted": 2})


def test_results_must_cover_the_batch_in_order() -> None:
    example = fresh(INGEST_RESPONSE)
    example["results"].reverse()
    with pytest.raises(ValidationError, match="indexes"):
        IngestResponse.model_validate(example)


@pytest.mark.parametrize(
    ("status", "errors"),
    [("rejected", ()), ("accepted", (FieldError(loc="$", msg="x"),))],
)
def test_errors_are_given_exactly_for_rejections(status: str, errors: tuple[FieldError]) -> None:
    with pytest.raises(ValidationError, match="exactly when"):
        IngestResult.model_validate({"index": 0, "status": status, "errors": errors})


def test_error_response_round_trips() -> None:
    error = ErrorResponse.model_validate(ERROR_RESPONSE)
    assert decode(encode(error), ErrorResponse) == error
    with pytest.raises(ValidationError):
        ErrorResponse.model_validate({"error": "not a code"})


def test_field_errors_give_event_relative_paths_without_values() -> None:
    example = fresh(PAYMENT_EVENTS["instalment_due"])
    example["data"]["amount"] = 12.5
    example["data"]["client_id"] = "secret client"
    with pytest.raises(ValidationError) as info:
        decode_payment_event(json.dumps(example))
    errors = field_errors(info.value)
    assert [error.loc for error in errors] == ["data.client_id", "data.amount"]
    assert "secret client" not in encode(errors[0]).decode()


def test_field_errors_of_a_non_object() -> None:
    with pytest.raises(ValidationError) as info:
        decode_payment_event(b"[1, 2]")
    assert [error.loc for error in field_errors(info.value)] == ["$"]
    with pytest.raises(ValidationError) as info:
        decode_payment_event(b"{not json")
    assert field_errors(info.value)[0].msg.startswith("Invalid JSON")


def test_field_error_needs_a_location() -> None:
    with pytest.raises(ValidationError):
        FieldError(loc="", msg="x")
