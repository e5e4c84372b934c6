"""POST /v1/actions and the /_dev/ controls of the dev Sofie server, over real loopback HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from schemas.actions import SofieActionResponse
from schemas.codec import encode
from schemas.sofie_api import ReceivedAction, SofieError
from services.sofie_dev.server import DevServerThread
from tests.integration.sofie.helpers import (
    TOKEN,
    delivery,
    headers,
    new_key,
    running_sofie,
    stats,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def sofie() -> Iterator[DevServerThread]:
    with running_sofie() as server:
        yield server


@pytest.fixture
def http(sofie: DevServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sofie.url, timeout=10) as client:
        assert client.post("/_dev/reset").status_code == 200
        yield client


def refused(answer: httpx.Response, status: int, error: str) -> SofieError:
    assert answer.status_code == status, answer.text
    body = SofieError.model_validate_json(answer.content)
    assert body.error == error
    return body


def received(http: httpx.Client, since: int = 0) -> list[ReceivedAction]:
    return [
        ReceivedAction.model_validate(item)
        for item in http.get(f"/_dev/received?since={since}").json()
    ]


def test_health(http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}


def test_accepted_then_duplicate_with_the_original_id(http: httpx.Client) -> None:
    request = delivery(deliver_after="2026-03-02T07:00:00Z")
    key = request.idempotency_key
    first = http.post("/v1/actions", content=encode(request), headers=headers(key))
    assert first.status_code == 202
    accepted = SofieActionResponse.model_validate_json(first.content)
    assert (accepted.idempotency_key, accepted.status) == (key, "accepted")

    again = http.post("/v1/actions", content=encode(request), headers=headers(key))
    assert again.status_code == 200
    duplicate = SofieActionResponse.model_validate_json(again.content)
    assert duplicate.status == "duplicate"
    assert duplicate.sofie_action_id == accepted.sofie_action_id

    (action,) = received(http)
    assert action.sofie_action_id == accepted.sofie_action_id
    assert action.requests == 2
    assert action.deliver_after is not None
    assert action.deliver_after.isoformat() == "2026-03-02T07:00:00+00:00"
    counts = stats(http)
    assert (counts.requests, counts.accepted, counts.duplicates) == (2, 1, 1)


def test_the_same_key_with_another_body_is_409_and_changes_nothing(http: httpx.Client) -> None:
    request = delivery()
    key = request.idempotency_key
    assert (
        http.post("/v1/actions", content=encode(request), headers=headers(key)).status_code == 202
    )
    other = request.model_copy(update={"channel": "email"})
    answer = http.post("/v1/actions", content=encode(other), headers=headers(key))
    body = refused(answer, 409, "idempotency_conflict")
    assert "client-0001" not in answer.text
    assert body.errors == ()
    (action,) = received(http)
    assert (action.channel, action.requests) == ("app", 2)
    assert stats(http).conflicts == 1


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token-wrong-token", "Basic abc"])
def test_no_or_a_wrong_token_is_401(http: httpx.Client, authorization: str | None) -> None:
    request = delivery()
    sent = headers(request.idempotency_key)
    del sent["Authorization"]
    if authorization:
        sent["Authorization"] = authorization
    answer = http.post("/v1/actions", content=encode(request), headers=sent)
    refused(answer, 401, "unauthorized")
    assert answer.headers["www-authenticate"] == "Bearer"
    assert received(http) == []
    assert stats(http).unauthorized == 1


def test_the_idempotency_key_header_is_required_and_must_match(http: httpx.Client) -> None:
    request = delivery()
    sent = headers(request.idempotency_key)
    del sent["Idempotency-Key"]
    refused(
        http.post("/v1/actions", content=encode(request), headers=sent),
        400,
        "missing_idempotency_key",
    )
    refused(
        http.post("/v1/actions", content=encode(request), headers=headers("act-other")),
        400,
        "idempotency_key_mismatch",
    )
    assert received(http) == []


def test_an_invalid_body_is_422_naming_the_fields_without_echoing_them(http: httpx.Client) -> None:
    body = (
        b'{"idempotency_key":"act-1","client_ref":"Jan de Vries","channel":"bank_process",'
        b'"action":"nudge","payload":{},"deliver_after":"2026-03-02T07:00:00"}'
    )
    answer = http.post("/v1/actions", content=body, headers=headers("act-1"))
    error = refused(answer, 422, "invalid_body")
    assert {e.loc for e in error.errors} == {"client_ref", "channel", "deliver_after"}
    assert "Jan de Vries" not in answer.text
    refused(
        http.post("/v1/actions", content=b"{not json", headers=headers("act-1")),
        400,
        "invalid_json",
    )
    big = b'{"payload":"' + b"x" * 70_000 + b'"}'
    refused(
        http.post("/v1/actions", content=big, headers=headers("act-1")), 413, "payload_too_large"
    )
    assert stats(http).invalid == 3


def test_twenty_concurrent_posts_of_one_key_make_one_action(
    sofie: DevServerThread, http: httpx.Client
) -> None:
    # A latency fault holds every answer back, so all twenty are in flight at once and the
    # repeats arrive while the first is still being processed.
    assert http.post("/_dev/faults", json={"mode": "latency", "latency_s": 0.3}).status_code == 200
    request = delivery()
    key = request.idempotency_key

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=sofie.url, timeout=10) as client:
            return await asyncio.gather(
                *(
                    client.post("/v1/actions", content=encode(request), headers=headers(key))
                    for _ in range(20)
                )
            )

    answers = asyncio.run(burst())
    http.post("/_dev/faults", json={"mode": "none"})
    assert sorted(a.status_code for a in answers) == [200] * 19 + [202]
    ids = {SofieActionResponse.model_validate_json(a.content).sofie_action_id for a in answers}
    assert len(ids) == 1
    (action,) = received(http)
    assert action.requests == 20
    counts = stats(http)
    assert (counts.requests, counts.accepted, counts.duplicates) == (20, 1, 19)


def test_received_pages_with_a_seq_cursor(sofie: DevServerThread, http: httpx.Client) -> None:
    keys = [new_key() for _ in range(5)]

    async def post_all() -> None:
        async with httpx.AsyncClient(base_url=sofie.url, timeout=10) as client:
            await asyncio.gather(
                *(
                    client.post("/v1/actions", content=encode(delivery(k)), headers=headers(k))
                    for k in keys
                )
            )

    asyncio.run(post_all())
    everything = received(http)
    assert sorted(a.idempotency_key for a in everything) == sorted(keys)
    seqs = [a.seq for a in everything]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 5
    page = http.get(f"/_dev/received?since={seqs[1]}&limit=2").json()
    assert [item["seq"] for item in page] == seqs[2:4]
    assert received(http, since=seqs[-1]) == []
    refused(http.get("/_dev/received?since=-1"), 422, "invalid_request")


def test_reset_forgets_actions_but_seq_keeps_counting(http: httpx.Client) -> None:
    request = delivery()
    key = request.idempotency_key
    http.post("/v1/actions", content=encode(request), headers=headers(key))
    (before,) = received(http)
    assert http.post("/_dev/reset").json()["requests"] == 0
    assert received(http) == []
    assert (
        http.post("/v1/actions", content=encode(request), headers=headers(key)).status_code == 202
    )
    (after,) = received(http, since=before.seq)
    assert after.seq > before.seq


def test_the_fault_endpoint_validates_and_reports(http: httpx.Client) -> None:
    refused(http.post("/_dev/faults", json={"mode": "latency"}), 422, "invalid_body")
    refused(http.post("/_dev/faults", json={"mode": "meltdown"}), 422, "invalid_body")
    set_to = {"mode": "refuse", "latency_s": None, "remaining": 3}
    assert http.post("/_dev/faults", json=set_to).json() == set_to
    assert http.get("/_dev/faults").json() == set_to
    http.post("/_dev/faults", json={"mode": "none"})


def test_faults_apply_to_actions_only_and_unknown_routes_are_404(http: httpx.Client) -> None:
    http.post("/_dev/faults", json={"mode": "refuse"})
    assert http.get("/healthz").status_code == 200
    assert http.get("/_dev/stats").status_code == 200
    request = delivery()
    answer = http.post(
        "/v1/actions", content=encode(request), headers=headers(request.idempotency_key)
    )
    refused(answer, 503, "unavailable")
    assert answer.headers["retry-after"] == "1"
    http.post("/_dev/faults", json={"mode": "none"})
    refused(http.get("/v1/nothing"), 404, "not_found")
    assert TOKEN.get_secret_value() not in http.get("/_dev/stats").text
