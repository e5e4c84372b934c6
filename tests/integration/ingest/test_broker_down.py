"""2xx only after ack: with the broker gone, a batch gets 503 quickly and nothing counts as
acknowledged, so the bank's retry of the same batch is published in full once a broker is back.

Uses a broker of its own (the session broker must stay up for the other tests).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from schemas.ingest_api import ErrorResponse
from services.common.broker import EmbeddedBroker, start_broker
from services.common.kafka import ensure_topics, read_topic
from tests.integration.ingest.helpers import (
    RunningIngest,
    bearer,
    ingest_settings,
    metric,
    namespace,
    running_ingest,
)
from tests.unit.ingest.factories import as_array, event

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

PUBLISH_TIMEOUT_S = 3.0
ANSWER_WITHIN_S = 15.0


class OwnBroker:
    """A broker this test can stop and start again on the same port (memory only: empty)."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.broker: EmbeddedBroker = start_broker(log=log)
        self.port = self.broker.port

    def stop(self) -> None:
        self.broker.stop()

    def restart(self) -> None:
        self.broker.stop()
        self.broker = start_broker(port=self.port, log=self.log)


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[OwnBroker]:
    broker = OwnBroker(tmp_path / "tansu.log")
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def ingest(own_broker: OwnBroker) -> Iterator[RunningIngest]:
    settings = ingest_settings(
        own_broker.broker.bootstrap,
        namespace("it-down"),
        ingest_publish_timeout_s=PUBLISH_TIMEOUT_S,
    )
    with running_ingest(settings) as running:
        yield running


def published_ids(ingest: RunningIngest) -> list[str]:
    records = read_topic(ingest.settings, ingest.settings.topic_payment_events)
    return [json.loads(record.value)["id"] for record in records]


def test_broker_stopped_gives_503_quickly_and_acknowledges_nothing(
    own_broker: OwnBroker, ingest: RunningIngest
) -> None:
    with httpx.Client(base_url=ingest.url, timeout=60) as client:
        warm = event()
        assert (
            client.post("/v1/events", content=as_array([warm]), headers=bearer()).json()["accepted"]
            == 1
        )

        accepted_before = metric(
            "nazorg_ingest_events_total",
            input="http",
            type="instalment_due",
            status="accepted",
            reason="",
        )
        failures_before = metric("nazorg_ingest_publish_failures_total", input="http")
        own_broker.stop()
        batch = [event(), event("direct_debit_collected"), event("business_day_closed")]
        started = time.monotonic()
        answer = client.post("/v1/events", content=as_array(batch), headers=bearer())
        took = time.monotonic() - started

        assert answer.status_code == 503, answer.text
        assert took < ANSWER_WITHIN_S
        assert ErrorResponse.model_validate_json(answer.content).error == "broker_unavailable"
        assert answer.headers["Retry-After"]
        assert "results" not in answer.json()
        assert metric("nazorg_ingest_publish_failures_total", input="http") == failures_before + 1
        accepted_after = metric(
            "nazorg_ingest_events_total",
            input="http",
            type="instalment_due",
            status="accepted",
            reason="",
        )
        assert accepted_after == accepted_before

        ready = client.get("/readyz")
        assert (ready.status_code, ready.json()) == (503, {"ready": False})
        assert client.get("/healthz").status_code == 200  # alive: waiting for the broker

        # A broker is back (Tansu keeps nothing: a fresh, empty log). The retry of the same
        # batch is accepted in full, not "duplicate": the failed attempt was never remembered
        # as acknowledged.
        own_broker.restart()
        ensure_topics(ingest.settings)
        assert client.get("/readyz").status_code == 200
        retry = client.post("/v1/events", content=as_array(batch), headers=bearer())
        assert retry.status_code == 200, retry.text
        assert [r["status"] for r in retry.json()["results"]] == ["accepted"] * 3

    ids = published_ids(ingest)
    partitions = ingest.settings.topic_partitions
    assert sorted(ids) == sorted([batch[0]["id"], batch[1]["id"]] + [batch[2]["id"]] * partitions)
