"""Property tests of POST /v1/events against the real server and broker (1,600 bodies).

Whatever the body: never a 5xx other than 503; a 200 answer's counts add up
(received = accepted + duplicate + rejected = len(results)) and cover every item in order;
every rejection names a field path and a reason; nothing invalid is accepted and nothing valid
is rejected (the oracle is the contract itself, applied locally); any other answer is a
well-formed ErrorResponse.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas.ingest_api import ErrorResponse, IngestResponse
from schemas.payments import PAYMENT_EVENT_ADAPTER
from services.ingest.batch import JSON_WHITESPACE
from tests.integration.ingest.helpers import (
    bearer,
    ingest_settings,
    namespace,
    running_ingest,
)
from tests.unit.ingest.strategies import as_json, json_values, mutated_events, raw_bodies

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CONTENT_TYPES = st.sampled_from(
    ["application/json", "application/x-ndjson", "text/plain", "application/json; charset=x"]
)


@pytest.fixture(scope="module")
def client(kafka_bootstrap: str) -> Iterator[httpx.Client]:
    settings_ = ingest_settings(kafka_bootstrap, namespace("it-fuzz"))
    with (
        running_ingest(settings_) as running,
        httpx.Client(base_url=running.url, timeout=30) as http,
    ):
        yield http


def post(client: httpx.Client, body: bytes, content_type: str) -> httpx.Response:
    answer = client.post("/v1/events", content=body, headers=bearer(content_type=content_type))
    assert answer.status_code < 500 or answer.status_code == 503, answer.text
    return answer


def is_valid(item: Any) -> bool:
    try:
        PAYMENT_EVENT_ADAPTER.validate_python(json.loads(json.dumps(item)))
    except ValidationError:
        return False
    return True


def check_refusal(answer: httpx.Response) -> ErrorResponse:
    assert answer.status_code in (400, 413, 415), answer.text
    refusal = ErrorResponse.model_validate_json(answer.content)
    assert refusal.detail is not None
    assert len(refusal.detail) <= 2048
    return refusal


def check_answer(answer: httpx.Response, items: list[Any] | None = None) -> IngestResponse:
    assert answer.status_code == 200, answer.text
    response = IngestResponse.model_validate_json(answer.content)  # checks counts and order
    for status in ("accepted", "duplicate", "rejected"):
        if getattr(response, status):
            event(f"some {status}")
    assert response.received == len(response.results)
    assert response.received == response.accepted + response.duplicate + response.rejected
    for result in response.results:
        if result.status == "rejected":
            assert result.errors
            assert all(error.loc and error.msg for error in result.errors)
    if items is not None:
        assert response.received == len(items)
        for item, result in zip(items, response.results, strict=True):
            if is_valid(item):
                assert result.status in ("accepted", "duplicate"), result
            else:
                assert result.status == "rejected", (item, result)
    return response


@settings(FUZZ, max_examples=300)
@given(body=raw_bodies, content_type=CONTENT_TYPES)
def test_arbitrary_bytes_never_break_the_api(
    client: httpx.Client, body: bytes, content_type: str
) -> None:
    answer = post(client, body, content_type)
    if answer.status_code == 200:
        check_answer(answer)
    else:
        check_refusal(answer)


@settings(FUZZ, max_examples=400)
@given(items=st.lists(json_values, max_size=8))
def test_arrays_of_arbitrary_json_values_get_a_verdict_each(
    client: httpx.Client, items: list[Any]
) -> None:
    check_answer(post(client, as_json(items), "application/json"), items)


@settings(FUZZ, max_examples=600)
@given(items=st.lists(mutated_events(), min_size=1, max_size=6))
def test_near_valid_events_are_judged_exactly_by_the_contract(
    client: httpx.Client, items: list[Any]
) -> None:
    check_answer(post(client, as_json(items), "application/json"), items)


@settings(FUZZ, max_examples=300)
@given(lines=st.lists(mutated_events().map(as_json) | st.binary(max_size=40), max_size=6))
def test_ndjson_lines_each_get_a_verdict(client: httpx.Client, lines: list[bytes]) -> None:
    body = b"\n".join(lines)
    answer = post(client, body, "application/x-ndjson")
    try:
        text_lines = body.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        check_refusal(answer)
        return
    items = [line for line in text_lines if line.strip(JSON_WHITESPACE)]
    if answer.status_code == 400:
        check_refusal(answer)
        return
    response = check_answer(answer)
    assert response.received == len(items)
