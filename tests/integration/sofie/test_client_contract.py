"""Contract test: our SofieClient against the dev Sofie server, including every fault mode.

Each answer the contract allows is produced for real over loopback HTTP, and the client's
classification (what the outbox acts on) is checked against it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from schemas.sofie_api import SofieDeliveryRequest
from services.intervention.sofie_client import SofieClient
from services.sofie_dev.server import DevServerThread
from tests.integration.sofie.helpers import (
    TOKEN,
    delivery,
    running_sofie,
    stats,
    unused_port,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def sofie() -> Iterator[DevServerThread]:
    with running_sofie() as server:
        yield server


@pytest.fixture
def dev(sofie: DevServerThread) -> Iterator[httpx.Client]:
    """The dev controls, reset before each test; the fault is cleared after it (a held
    request must not outlive its test)."""
    with httpx.Client(base_url=sofie.url, timeout=10) as http:
        http.post("/_dev/reset").raise_for_status()
        try:
            yield http
        finally:
            http.post("/_dev/faults", json={"mode": "none"}).raise_for_status()


@pytest.fixture
def client(sofie: DevServerThread, dev: httpx.Client) -> Iterator[SofieClient]:
    with SofieClient(sofie.url, TOKEN, timeout_s=2.0) as sofie_client:
        yield sofie_client


def fault(dev: httpx.Client, **body: object) -> None:
    dev.post("/_dev/faults", json=body).raise_for_status()


def test_a_new_action_is_delivered_and_a_repeat_is_a_duplicate(
    client: SofieClient, dev: httpx.Client
) -> None:
    request = delivery(deliver_after="2026-03-02T07:00:00Z")
    first = client.deliver(request)
    assert (first.outcome, first.status_code, first.error) == ("delivered", 202, None)
    assert first.sofie_action_id is not None
    assert first.sent
    assert first.elapsed_s > 0
    again = client.deliver(request)
    assert (again.outcome, again.status_code) == ("duplicate", 200)
    assert again.sofie_action_id == first.sofie_action_id
    assert again.sent
    (action,) = dev.get("/_dev/received").json()
    assert action["sofie_action_id"] == first.sofie_action_id


def test_the_same_key_with_another_body_is_permanent(client: SofieClient) -> None:
    request = delivery()
    assert client.deliver(request).outcome == "delivered"
    conflict = client.deliver(request.model_copy(update={"action": "buffer_on_payday"}))
    assert (conflict.outcome, conflict.status_code) == ("permanent", 409)
    assert conflict.error == "http_409:idempotency_conflict"
    assert conflict.sofie_action_id is None


def test_a_wrong_token_is_permanent(sofie: DevServerThread, dev: httpx.Client) -> None:
    with SofieClient(sofie.url, SecretStr("not-the-token-at-all"), timeout_s=2.0) as wrong:
        result = wrong.deliver(delivery())
    assert (result.outcome, result.status_code, result.error) == (
        "permanent",
        401,
        "http_401:unauthorized",
    )
    assert dev.get("/_dev/received").json() == []


def test_a_body_sofie_refuses_is_permanent(client: SofieClient) -> None:
    # model_construct skips our own validation, as a bug in the outbox would.
    broken = SofieDeliveryRequest.model_construct(
        idempotency_key="act-broken",
        client_ref="has a space",
        channel="app",
        action="nudge",
        payload={},
        deliver_after=None,
    )
    result = client.deliver(broken)
    assert (result.outcome, result.status_code, result.error) == (
        "permanent",
        422,
        "http_422:invalid_body",
    )


def test_error_500_is_retryable(client: SofieClient, dev: httpx.Client) -> None:
    fault(dev, mode="error_500")
    result = client.deliver(delivery())
    assert (result.outcome, result.status_code, result.error) == (
        "retryable",
        500,
        "http_500:internal_error",
    )
    assert not result.sent
    assert dev.get("/_dev/received").json() == []


def test_refuse_is_retryable_with_retry_after(client: SofieClient, dev: httpx.Client) -> None:
    fault(dev, mode="refuse")
    result = client.deliver(delivery())
    assert (result.outcome, result.status_code, result.retry_after_s) == ("retryable", 503, 1.0)
    assert stats(dev).faults_injected == 1


def test_a_timeout_is_retryable_and_does_not_block_the_server(
    sofie: DevServerThread, dev: httpx.Client
) -> None:
    fault(dev, mode="timeout")
    with SofieClient(sofie.url, TOKEN, timeout_s=0.5) as impatient:
        result = impatient.deliver(delivery())
        assert (result.outcome, result.status_code) == ("retryable", None)
        assert result.error is not None
        assert result.error.startswith("timeout:")
        assert 0.45 <= result.elapsed_s < 2.0
        # The held request still sits in the server; other requests are answered meanwhile.
        started = time.monotonic()
        assert dev.get("/healthz").status_code == 200
        assert time.monotonic() - started < 0.5
        fault(dev, mode="none")
        recovered = impatient.deliver(delivery())
    assert recovered.outcome == "delivered"
    assert len(dev.get("/_dev/received").json()) == 1, "the timed-out request was processed"


def test_a_late_answer_is_retryable_and_the_retry_is_a_duplicate(
    sofie: DevServerThread, dev: httpx.Client
) -> None:
    # Sofie accepts the action, but after the client gave up: the case idempotency keys exist for.
    fault(dev, mode="latency", latency_s=0.8, remaining=1)
    request = delivery()
    with SofieClient(sofie.url, TOKEN, timeout_s=0.3) as impatient:
        lost = impatient.deliver(request)
        assert lost.outcome == "retryable"
        assert lost.error is not None
        assert lost.error.startswith("timeout:")
        wait_until(lambda: len(dev.get("/_dev/received").json()) == 1, 5, "the late acceptance")
        retry = impatient.deliver(request)
    (action,) = dev.get("/_dev/received").json()
    assert (retry.outcome, retry.sofie_action_id) == ("duplicate", action["sofie_action_id"])
    assert action["requests"] == 2


def test_latency_within_the_timeout_is_measured(client: SofieClient, dev: httpx.Client) -> None:
    fault(dev, mode="latency", latency_s=0.3)
    result = client.deliver(delivery())
    assert result.outcome == "delivered"
    assert 0.3 <= result.elapsed_s < 2.0


def test_remaining_faults_expire(client: SofieClient, dev: httpx.Client) -> None:
    fault(dev, mode="error_500", remaining=2)
    outcomes = [client.deliver(delivery()).outcome for _ in range(3)]
    assert outcomes == ["retryable", "retryable", "delivered"]
    assert dev.get("/_dev/faults").json()["mode"] == "none"
    counts = stats(dev)
    assert (counts.faults_injected, counts.accepted) == (2, 1)


def test_nobody_listening_is_retryable() -> None:
    with SofieClient(f"http://127.0.0.1:{unused_port()}", TOKEN, timeout_s=1.0) as nowhere:
        result = nowhere.deliver(delivery())
    assert (result.outcome, result.status_code) == ("retryable", None)
    assert result.error == "network:ConnectError"


def test_the_client_logs_no_personal_data(
    client: SofieClient, dev: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    request = delivery(client_ref="client-secret-ref-77")
    client.deliver(request)
    fault(dev, mode="error_500")
    client.deliver(delivery(client_ref="client-secret-ref-77"))
    logged = " ".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert request.idempotency_key in logged
    assert "client-secret-ref-77" not in logged
    assert TOKEN.get_secret_value() not in logged
