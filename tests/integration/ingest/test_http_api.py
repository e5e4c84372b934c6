"""POST /v1/events on a real uvicorn server against the real test broker.

One ingest for the module, on topics of its own; each test uses fresh event ids and checks the
events topic for exactly its own events.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from schemas.codec import decode_payment_event, encode
from schemas.ingest_api import ErrorResponse, IngestResponse
from schemas.payments import PAYMENT_EVENT_ADAPTER
from services.common.kafka import partitions_for, read_topic
from tests.integration.ingest.helpers import (
    TOKEN,
    RunningIngest,
    bearer,
    ingest_settings,
    metric,
    namespace,
    running_ingest,
    signed,
)
from tests.unit.ingest.factories import as_array, as_ndjson, event, one_of_each

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

MAX_BODY = 64 * 1024
MAX_EVENTS = 50


@pytest.fixture(scope="module")
def ingest(kafka_bootstrap: str) -> Iterator[RunningIngest]:
    settings = ingest_settings(
        kafka_bootstrap,
        namespace("it-http"),
        ingest_max_body_bytes=MAX_BODY,
        ingest_max_batch_events=MAX_EVENTS,
    )
    with running_ingest(settings) as running:
        yield running


@pytest.fixture(scope="module")
def client(ingest: RunningIngest) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ingest.url, timeout=30) as http:
        yield http


def post(
    client: httpx.Client, body: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    return client.post("/v1/events", content=body, headers=bearer() if headers is None else headers)


def on_topic(ingest: RunningIngest) -> dict[str, list[Any]]:
    """Records of the events topic by event id."""
    found: dict[str, list[Any]] = {}
    for record in read_topic(ingest.settings, ingest.settings.topic_payment_events):
        found.setdefault(json.loads(record.value)["id"], []).append(record)
    return found


def assert_refused(answer: httpx.Response, status: int, error: str) -> ErrorResponse:
    assert answer.status_code == status, answer.text
    body = ErrorResponse.model_validate_json(answer.content)
    assert body.error == error
    return body


# --- rejections of the whole request ------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Content-Type": "application/json"}, "missing"),
        (bearer(token="not-the-token-but-long-enough"), "bad_token"),
        ({"Authorization": "Basic dXNlcjpwYXNz", "Content-Type": "application/json"}, "missing"),
        ({"Authorization": "Bearer", "Content-Type": "application/json"}, "bad_token"),
    ],
)
def test_no_valid_token_is_401_and_nothing_is_published(
    ingest: RunningIngest, client: httpx.Client, headers: dict[str, str], reason: str
) -> None:
    sent = event()
    before = metric("nazorg_ingest_auth_failures_total", reason=reason)
    answer = assert_refused(post(client, as_array([sent]), headers), 401, "unauthorized")
    assert answer.detail
    assert metric("nazorg_ingest_auth_failures_total", reason=reason) == before + 1
    assert sent["id"] not in on_topic(ingest)


def test_a_valid_hmac_signature_is_accepted(ingest: RunningIngest, client: httpx.Client) -> None:
    sent = event()
    body = as_array([sent])
    answer = post(client, body, signed(body))
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 1
    assert len(on_topic(ingest)[sent["id"]]) == 1


def test_a_signature_over_other_bytes_or_with_another_key_is_401(
    ingest: RunningIngest, client: httpx.Client
) -> None:
    sent = event()
    body = as_array([sent])
    tampered = body.replace(b"1000.00", b"9000.00")
    assert tampered != body
    assert_refused(post(client, tampered, signed(body)), 401, "unauthorized")
    wrong_key = signed(body, key="another-key-of-enough-length")
    assert_refused(post(client, body, wrong_key), 401, "unauthorized")
    assert sent["id"] not in on_topic(ingest)


@pytest.mark.parametrize("offset_s", [-301, 301, -86_400])
def test_a_stale_or_future_timestamp_is_401_replay_protection(
    ingest: RunningIngest, client: httpx.Client, offset_s: int
) -> None:
    sent = event()
    body = as_array([sent])
    before = metric("nazorg_ingest_auth_failures_total", reason="stale_timestamp")
    headers = signed(body, at=time.time() + offset_s)  # correctly signed, but captured long ago
    answer = assert_refused(post(client, body, headers), 401, "unauthorized")
    assert "Timestamp" in (answer.detail or "")
    assert metric("nazorg_ingest_auth_failures_total", reason="stale_timestamp") == before + 1
    assert sent["id"] not in on_topic(ingest)


def test_a_replay_inside_the_window_publishes_nothing_twice(
    ingest: RunningIngest, client: httpx.Client
) -> None:
    sent = event()
    body = as_array([sent])
    headers = signed(body)
    assert post(client, body, headers).json()["accepted"] == 1
    again = post(client, body, headers)
    assert again.status_code == 200
    assert again.json()["duplicate"] == 1
    assert len(on_topic(ingest)[sent["id"]]) == 1


def test_a_body_over_the_limit_is_413(ingest: RunningIngest, client: httpx.Client) -> None:
    padded = event(loan_id="L-" + "x" * 100)
    body = as_array([padded] * (MAX_BODY // len(json.dumps(padded)) + 1))
    assert len(body) > MAX_BODY
    assert_refused(post(client, body), 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming
        yield body[: len(body) // 2]
        yield body[len(body) // 2 :]

    streamed = client.post("/v1/events", content=chunks(), headers=bearer())
    assert "content-length" not in streamed.request.headers
    assert_refused(streamed, 413, "payload_too_large")
    assert padded["id"] not in on_topic(ingest)


def test_a_batch_over_the_count_limit_is_413_and_nothing_is_published(
    ingest: RunningIngest, client: httpx.Client
) -> None:
    events = [event("payment_pause_ended") for _ in range(MAX_EVENTS + 1)]
    assert_refused(post(client, as_array(events)), 413, "batch_too_large")
    assert post(client, as_array(events[:MAX_EVENTS])).json()["accepted"] == MAX_EVENTS
    published = on_topic(ingest)
    assert events[-1]["id"] not in published
    assert all(e["id"] in published for e in events[:MAX_EVENTS])


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "", "multipart/form-data; boundary=x"]
)
def test_a_wrong_content_type_is_415(client: httpx.Client, content_type: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if content_type:
        headers["Content-Type"] = content_type
    assert_refused(post(client, as_array([event()]), headers), 415, "unsupported_media_type")


def test_content_type_parameters_are_allowed(client: httpx.Client) -> None:
    answer = post(
        client, as_array([event()]), bearer(content_type="Application/JSON; charset=utf-8")
    )
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{not json",
        b'{"type": "instalment_due"}',
        b"\xff\xfe[]",
        b"[1, 2",
        b"[NaN]",
        b"[" * 5000,
    ],
)
def test_a_body_that_is_not_a_json_array_is_400(client: httpx.Client, body: bytes) -> None:
    answer = assert_refused(post(client, body), 400, "invalid_json")
    assert answer.detail
    assert len(answer.detail) <= 2048


def test_an_ndjson_body_without_one_json_line_is_400(client: httpx.Client) -> None:
    headers = bearer(content_type="application/x-ndjson")
    assert_refused(post(client, b"{oops\nnope\n", headers), 400, "invalid_json")


# --- per-event verdicts ---------------------------------------------------------------------


def test_each_invalid_event_is_rejected_with_field_paths_and_the_valid_ones_published(
    ingest: RunningIngest, client: httpx.Client
) -> None:
    good = event()
    float_amount = event(amount=1000.5)
    bad_iban = event("direct_debit_collected", debtor_iban="NL00ABNA0417164300")
    missing = event("payment_received")
    del missing["data"]["bank_reference"]
    extra = event("payment_pause_ended", nickname="x")
    unknown_type = event() | {"type": "instalment_forgiven"}
    dollars = event("payment_received", currency="USD")
    events = [good, float_amount, bad_iban, missing, extra, unknown_type, dollars]
    batch: list[Any] = [*events, 42, "text"]

    answer = post(client, as_array(batch))
    assert answer.status_code == 200, answer.text
    response = IngestResponse.model_validate_json(answer.content)
    assert (response.received, response.accepted, response.rejected) == (9, 1, 8)
    results = response.results
    assert results[0].status == "accepted"
    expected_locs = {
        1: "data.amount",
        2: "data.debtor_iban",
        3: "data.bank_reference",
        4: "data.nickname",
        5: "type",
        6: "data.currency",
        7: "$",
        8: "$",
    }
    for index, loc in expected_locs.items():
        assert results[index].status == "rejected"
        assert loc in [error.loc for error in results[index].errors], results[index]
        assert all(error.msg for error in results[index].errors)
    assert results[1].event_id == float_amount["id"]  # a readable id is reported back
    assert "NL00ABNA0417164300" not in answer.text  # values are never echoed

    published = on_topic(ingest)
    assert good["id"] in published
    assert not {e["id"] for e in events[1:]} & set(published)


def test_duplicates_within_a_batch_and_across_batches(
    ingest: RunningIngest, client: httpx.Client
) -> None:
    first = event("direct_debit_collected")
    same_reference = event(
        "direct_debit_collected",
        end_to_end_id=first["data"]["end_to_end_id"],
        bank_reference=first["data"]["bank_reference"],
    )
    other = event("payment_received")
    answer = post(client, as_array([first, first, same_reference, other])).json()
    assert [r["status"] for r in answer["results"]] == [
        "accepted",
        "duplicate",
        "duplicate",
        "accepted",
    ]
    assert answer["results"][2]["event_id"] == same_reference["id"]

    again = post(client, as_array([other, first, event()])).json()
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate", "accepted"]

    published = on_topic(ingest)
    assert len(published[first["id"]]) == 1
    assert len(published[other["id"]]) == 1
    assert same_reference["id"] not in published


def test_ndjson_lines_are_judged_one_by_one(ingest: RunningIngest, client: httpx.Client) -> None:
    good, also_good = event(), event("loan_restructured")
    body = as_ndjson([good]) + b"\r\n  \n{broken\n" + as_ndjson([also_good]).rstrip(b"\n") + b"\r\n"
    answer = post(client, body, bearer(content_type="application/x-ndjson"))
    assert answer.status_code == 200, answer.text
    response = IngestResponse.model_validate_json(answer.content)
    assert [r.status for r in response.results] == ["accepted", "rejected", "accepted"]
    assert response.results[1].errors[0].loc == "$"
    published = on_topic(ingest)
    assert good["id"] in published
    assert also_good["id"] in published


def test_business_day_closed_goes_to_every_partition_without_a_key(
    ingest: RunningIngest, client: httpx.Client
) -> None:
    tick = event("business_day_closed")
    assert post(client, as_array([tick])).json()["accepted"] == 1
    copies = on_topic(ingest)[tick["id"]]
    partitions = partitions_for(ingest.settings, ingest.settings.topic_payment_events)
    assert len(partitions) == ingest.settings.topic_partitions
    assert sorted(record.partition for record in copies) == partitions
    assert all(record.key is None for record in copies)
    assert len({record.value for record in copies}) == 1


def test_events_are_keyed_by_loan_and_published_in_canonical_form(
    ingest: RunningIngest, client: httpx.Client
) -> None:
    events = [e for e in one_of_each() if e["type"] != "business_day_closed"]
    del events[2]["data"]["reason_category"]  # direct_debit_rejected: filled in by ingest
    assert post(client, as_array(events)).json()["accepted"] == len(events)
    published = on_topic(ingest)
    for sent in events:
        [record] = published[sent["id"]]
        assert record.key == sent["data"]["loan_id"].encode()
        canonical = decode_payment_event(record.value)
        assert record.value == encode(PAYMENT_EVENT_ADAPTER.validate_python(sent))
        assert canonical.model_dump(mode="json")["data"]["loan_id"] == sent["data"]["loan_id"]
    rejected = decode_payment_event(published[events[2]["id"]][0].value)
    assert rejected.model_dump(mode="json")["data"]["reason_category"] == "retryable"


def test_an_unknown_reason_code_is_accepted_as_unknown_and_counted(
    ingest: RunningIngest, client: httpx.Client
) -> None:
    returned = event("direct_debit_returned", reason_code="ZZ99")
    returned["data"].pop("reason_category", None)
    before = metric("nazorg_ingest_unknown_reason_codes_total", type="direct_debit_returned")
    assert post(client, as_array([returned])).json()["accepted"] == 1
    after = metric("nazorg_ingest_unknown_reason_codes_total", type="direct_debit_returned")
    assert after == before + 1
    [record] = on_topic(ingest)[returned["id"]]
    assert json.loads(record.value)["data"]["reason_category"] == "unknown"


def test_counts_in_metrics_add_up_with_the_answers(client: httpx.Client) -> None:
    fates = [
        ("instalment_due", "accepted", ""),
        ("instalment_due", "duplicate", ""),
        ("instalment_due", "rejected", "money_type"),
    ]

    def counts() -> list[float]:
        events = [
            metric("nazorg_ingest_events_total", input="http", type=t, status=s, reason=r)
            for t, s, r in fates
        ]
        return [*events, metric("nazorg_ingest_received_total", input="http")]

    before = counts()
    sent = event()
    answer = post(client, as_array([sent, sent, event(amount=5)])).json()
    assert (answer["accepted"], answer["duplicate"], answer["rejected"]) == (1, 1, 1)
    assert [a - b for a, b in zip(counts(), before, strict=True)] == [1, 1, 1, 3]


def test_health_readiness_and_metrics_endpoints(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"ready": True})
    text = client.get("/metrics").text
    assert "nazorg_ingest_events_total" in text
    assert "nazorg_ingest_publish_seconds_bucket" in text
    assert client.get("/openapi.json").json()["paths"]["/v1/events"]["post"]["operationId"]
