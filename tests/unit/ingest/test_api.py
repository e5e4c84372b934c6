"""HTTP behaviour that needs no broker: refusal order, error bodies, liveness."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.testclient import TestClient

from schemas.ingest_api import ErrorResponse
from services.common.settings import IngestSettings
from services.ingest.api import MAX_DETAIL, create_app, error_response
from services.ingest.dedupe import DedupeWindow
from services.ingest.pipeline import IngestPipeline
from services.ingest.publisher import Outgoing
from tests.unit.ingest.factories import as_array, event
from tests.unit.ingest.fakes import FakeSink

TOKEN = "a-token-of-enough-length"
SETTINGS = IngestSettings(
    bootstrap_servers="127.0.0.1:9", ingest_api_tokens=[TOKEN], ingest_max_body_bytes=2048
)


class BrokenSink(FakeSink):
    def publish(self, records: Sequence[Outgoing]) -> None:
        raise RuntimeError("a bug, not a broker failure")


def client(sink: FakeSink, alive: bool = True) -> TestClient:
    pipeline = IngestPipeline(
        sink, DedupeWindow(10), inbound_topic="i", dlq_topic="d", dlq_max_payload_bytes=4096
    )
    app = create_app(SETTINGS, pipeline, alive=lambda: alive)
    return TestClient(app, raise_server_exceptions=False)


def test_a_wrong_bearer_token_is_refused_before_the_body_is_read() -> None:
    too_big = b"[" + b" " * 4096 + b"]"
    headers = {"Authorization": "Bearer wrong-token-of-enough-length"}
    answer = client(FakeSink()).post("/v1/events", content=too_big, headers=headers)
    assert answer.status_code == 401
    right = client(FakeSink()).post(
        "/v1/events", content=too_big, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert right.status_code == 413


def test_an_unexpected_error_is_a_500_error_response_that_says_to_retry() -> None:
    answer = client(BrokenSink()).post(
        "/v1/events",
        content=as_array([event()]),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 500
    body = ErrorResponse.model_validate_json(answer.content)
    assert body.error == "internal_error"
    assert "a bug" not in answer.text


def test_liveness_follows_the_inbound_consumer() -> None:
    assert client(FakeSink(), alive=True).get("/healthz").status_code == 200
    dead = client(FakeSink(), alive=False).get("/healthz")
    assert dead.status_code == 503


def test_error_details_are_capped_at_the_contract_limit() -> None:
    response = error_response(400, "invalid_json", "x" * 10_000)
    body = ErrorResponse.model_validate_json(bytes(response.body))
    assert len(body.detail or "") == MAX_DETAIL
