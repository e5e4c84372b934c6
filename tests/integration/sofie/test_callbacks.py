"""Engagement callbacks from the dev Sofie server to a real webhook receiver on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from schemas.codec import encode
from schemas.sofie_api import EngagementCallback, SofieStats
from services.intervention.sofie_client import SofieClient, verify_callback_token
from services.sofie_dev.callbacks import callback_id
from tests.integration.sofie.helpers import (
    CALLBACK_TOKEN,
    TOKEN,
    Receiver,
    config,
    delivery,
    headers,
    running_receiver,
    running_sofie,
    stats,
    unused_port,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def settled(http: httpx.Client, expected: int) -> SofieStats:
    """Stats once ``expected`` callbacks were sent or given up on."""

    def done() -> bool:
        s = stats(http)
        return s.callbacks_pending == 0 and s.callbacks_sent + s.callbacks_failed >= expected

    wait_until(done, 10, f"{expected} callbacks to settle")
    return stats(http)


def bodies(receiver: Receiver) -> list[EngagementCallback]:
    return [EngagementCallback.model_validate(hit.body) for hit in receiver.seen()]


@pytest.fixture
def receiver() -> Iterator[tuple[str, Receiver]]:
    with running_receiver() as running:
        yield running


def test_an_engaged_client_yields_delivered_then_opened_or_attended(
    receiver: tuple[str, Receiver],
) -> None:
    url, webhook = receiver
    cfg = config(callback_url=url, callback_token=CALLBACK_TOKEN, engagement_rate=1.0)
    with running_sofie(cfg) as sofie, httpx.Client(base_url=sofie.url) as http:
        with SofieClient(sofie.url, TOKEN, timeout_s=2.0) as client:
            app = delivery(channel="app", deliver_after="2026-03-02T07:00:00Z")
            workshop = delivery(channel="workshop")
            first = client.deliver(app)
            assert client.deliver(app).outcome == "duplicate"
            assert client.deliver(workshop).outcome == "delivered"
        counts = settled(http, 4)
    assert (counts.callbacks_sent, counts.callbacks_failed) == (4, 0)
    assert all(verify_callback_token(hit.authorization, CALLBACK_TOKEN) for hit in webhook.seen())
    by_action: dict[str, list[EngagementCallback]] = {}
    for callback in bodies(webhook):
        by_action.setdefault(callback.idempotency_key, []).append(callback)
    opened = by_action[app.idempotency_key]
    assert [c.kind for c in opened] == ["delivered", "opened"], "in order, and once each"
    assert [c.callback_id for c in opened] == [
        callback_id(app.idempotency_key, "delivered"),
        callback_id(app.idempotency_key, "opened"),
    ]
    assert {c.occurred_at.isoformat() for c in opened} == {"2026-03-02T07:00:00+00:00"}
    assert {(c.sofie_action_id, c.client_ref, c.channel) for c in opened} == {
        (first.sofie_action_id, "client-0001", "app")
    }
    assert [c.kind for c in by_action[workshop.idempotency_key]] == ["delivered", "attended"]


def test_a_client_who_does_not_engage_gets_only_delivered(receiver: tuple[str, Receiver]) -> None:
    url, webhook = receiver
    cfg = config(callback_url=url, callback_token=CALLBACK_TOKEN, engagement_rate=0.0)
    with running_sofie(cfg) as sofie, httpx.Client(base_url=sofie.url) as http:
        for _ in range(3):
            request = delivery(channel="email")
            http.post(
                "/v1/actions", content=encode(request), headers=headers(request.idempotency_key)
            ).raise_for_status()
        settled(http, 3)
    assert [c.kind for c in bodies(webhook)] == ["delivered"] * 3


def test_failed_callbacks_are_retried_with_the_same_id() -> None:
    with running_receiver(statuses=[503, 500]) as (url, webhook):
        cfg = config(
            callback_url=url,
            callback_token=CALLBACK_TOKEN,
            engagement_rate=0.0,
            callback_backoff_s=0.01,
        )
        with running_sofie(cfg) as sofie, httpx.Client(base_url=sofie.url) as http:
            request = delivery()
            http.post(
                "/v1/actions", content=encode(request), headers=headers(request.idempotency_key)
            ).raise_for_status()
            counts = settled(http, 1)
    assert (counts.callbacks_sent, counts.callbacks_failed) == (1, 0)
    ids = [c.callback_id for c in bodies(webhook)]
    assert ids == [callback_id(request.idempotency_key, "delivered")] * 3


def test_a_refusing_receiver_is_not_retried_and_is_counted() -> None:
    with running_receiver(statuses=[401] * 10) as (url, webhook):
        cfg = config(callback_url=url, callback_token=CALLBACK_TOKEN, engagement_rate=1.0)
        with running_sofie(cfg) as sofie, httpx.Client(base_url=sofie.url) as http:
            request = delivery()
            http.post(
                "/v1/actions", content=encode(request), headers=headers(request.idempotency_key)
            ).raise_for_status()
            counts = settled(http, 2)
    assert (counts.callbacks_sent, counts.callbacks_failed) == (0, 2)
    assert len(webhook.seen()) == 2


def test_an_unreachable_receiver_never_hurts_the_server(caplog: pytest.LogCaptureFixture) -> None:
    cfg = config(
        callback_url=f"http://127.0.0.1:{unused_port()}/webhooks/sofie",
        callback_token=CALLBACK_TOKEN,
        engagement_rate=1.0,
        callback_backoff_s=0.01,
    )
    caplog.set_level("WARNING", logger="services.sofie_dev.callbacks")
    with running_sofie(cfg) as sofie, httpx.Client(base_url=sofie.url) as http:
        requests = [delivery(client_ref="client-secret-ref-77") for _ in range(3)]
        for request in requests:
            answer = http.post(
                "/v1/actions", content=encode(request), headers=headers(request.idempotency_key)
            )
            assert answer.status_code == 202
        counts = settled(http, 6)
        assert http.get("/healthz").status_code == 200
    assert (counts.callbacks_sent, counts.callbacks_failed) == (0, 6)
    logged = " ".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert requests[0].idempotency_key in logged
    assert "client-secret-ref-77" not in logged
    assert CALLBACK_TOKEN.get_secret_value() not in logged


def test_without_a_callback_url_nothing_is_sent(receiver: tuple[str, Receiver]) -> None:
    _, webhook = receiver
    with (
        running_sofie(config(engagement_rate=1.0)) as sofie,
        httpx.Client(base_url=sofie.url) as http,
    ):
        request = delivery()
        http.post(
            "/v1/actions", content=encode(request), headers=headers(request.idempotency_key)
        ).raise_for_status()
        counts = stats(http)
    assert (counts.callbacks_pending, counts.callbacks_sent) == (0, 0)
    assert webhook.seen() == []
