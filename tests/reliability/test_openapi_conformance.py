"""schemathesis against docs/openapi/ingest.json: >= 1,000 requests to the real ingest and broker.

The document is the contract the bank's pipeline codes against, so every answer must match it:
a documented status code, the documented content type and body schema, never a 5xx other
than 503. Each case is sent with a bearer token or an HMAC signature of the exact body bytes
(chosen per case), and a few with wrong credentials, so the generated bodies reach the
validation behind authentication instead of all stopping at 401.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CheckContext
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.ingest.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.integration.ingest.helpers import (
    HMAC_KEY,
    TOKEN,
    RunningIngest,
    ingest_settings,
    namespace,
    running_ingest,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "ingest.json"
MAX_GENERATED_BATCH = 4


def _document() -> dict[str, Any]:
    """The published document, with generated JSON batches capped at a few events.

    Every event in a batch is judged alone, so longer batches test nothing new (the count limit
    has its own tests) but cost most of the generation time. The response schemas, which
    the answers are checked against, are untouched.
    """
    document: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    content = document["paths"]["/v1/events"]["post"]["requestBody"]["content"]
    content["application/json"]["schema"]["maxItems"] = MAX_GENERATED_BATCH
    return document


SCHEMA = schemathesis.openapi.from_dict(_document())
POST_EVENTS = SCHEMA["/v1/events"]["POST"]
CREDENTIALS = ("bearer", "signature", "bearer", "signature", "bearer", "signature", "wrong")
MIN_CASES = 1_000
POSITIVE_CASES = 450
NEGATIVE_CASES = 600

FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: schemathesis.SerializationContext, value: Any) -> bytes:
    """The document describes an NDJSON body as a string: its lines, sent as UTF-8."""
    return value.encode("utf-8") if isinstance(value, str) else str(value).encode("utf-8")


class Credentials(requests.auth.AuthBase):
    """Signs or bears on the prepared request, so the signature covers the bytes really sent."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        for name in ("Authorization", SIGNATURE_HEADER, TIMESTAMP_HEADER):
            request.headers.pop(name, None)
        body = request.body or b""
        if not isinstance(body, str | bytes):
            raise TypeError("a streamed body cannot be signed up front")
        raw = body.encode("utf-8") if isinstance(body, str) else body
        if self.kind == "bearer":
            request.headers["Authorization"] = f"Bearer {TOKEN}"
        elif self.kind == "signature":
            timestamp = str(int(time.time()))
            request.headers[TIMESTAMP_HEADER] = timestamp
            request.headers[SIGNATURE_HEADER] = sign(HMAC_KEY, timestamp, raw)
        else:
            request.headers["Authorization"] = "Bearer not-a-token"
        return request


def not_a_server_error_but_503(ctx: CheckContext, response: Any, case: Any) -> bool | None:
    """503 is the documented answer when the broker does not acknowledge; any other 5xx is a bug."""
    assert response.status_code < 500 or response.status_code == 503, (
        response.status_code,
        response.text[:500],
    )
    return None


SCHEMA_CHECKS = [
    not_a_server_error_but_503,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def ingest(kafka_bootstrap: str) -> Iterator[RunningIngest]:
    with running_ingest(ingest_settings(kafka_bootstrap, namespace("rel-openapi"))) as running:
        yield running


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        yield http


def exercise(
    ingest: RunningIngest, session: requests.Session, case: Any, kind: str, sent: Counter[str]
) -> None:
    """Send one case with the given credentials and check the answer against the document."""
    checks = list(SCHEMA_CHECKS)
    positive = case.meta is None or case.meta.generation.mode is GenerationMode.POSITIVE
    if positive and kind != "wrong" and case.media_type != "application/x-ndjson":
        # The document types an NDJSON body as any string (JSON Schema cannot say "one event per
        # line"), so a schema-valid NDJSON body may rightly get the documented 400.
        checks.append(positive_data_acceptance)
    response = case.call_and_validate(
        base_url=ingest.url, session=session, auth=Credentials(kind), checks=checks, timeout=30
    )
    sent[f"{case.operation.label} {response.status_code}"] += 1
    if kind == "wrong":
        assert response.status_code == 401, response.text
    elif response.status_code == 200 and case.operation.label == "POST /v1/events":
        sent["events accepted"] += response.json()["accepted"]


def test_generated_requests_get_documented_answers(
    ingest: RunningIngest, session: requests.Session
) -> None:
    sent: Counter[str] = Counter()
    credentials = st.sampled_from(CREDENTIALS)

    @settings(FUZZ, max_examples=POSITIVE_CASES)
    @given(case=POST_EVENTS.as_strategy(GenerationMode.POSITIVE), kind=credentials)
    def valid_batches(case: Any, kind: str) -> None:
        exercise(ingest, session, case, kind, sent)

    @settings(FUZZ, max_examples=NEGATIVE_CASES)
    @given(case=POST_EVENTS.as_strategy(GenerationMode.NEGATIVE), kind=credentials)
    def invalid_batches(case: Any, kind: str) -> None:
        exercise(ingest, session, case, kind, sent)

    valid_batches()
    invalid_batches()
    for path in ("/healthz", "/readyz", "/metrics"):
        exercise(ingest, session, SCHEMA[path]["GET"].Case(), "bearer", sent)
        assert sent[f"GET {path} 200"] == 1, sent

    print(f"\nschemathesis requests by operation and status: {dict(sorted(sent.items()))}")
    posted = sum(n for label, n in sent.items() if label.startswith("POST"))
    assert posted >= MIN_CASES, sent
    assert sent["POST /v1/events 401"] < posted / 4, sent  # most got past authentication
    assert sent["events accepted"] > 0, sent  # and some valid events were published
