"""The Kafka inbound path: payments.inbound.v1 → payments.events.v1, the rest → payments.dlq.v1.

Real broker, real consumer group (short timeouts), the consumer thread inside a real ingest
runtime next to its HTTP server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from kafka import KafkaProducer

from schemas.codec import decode_dead_letter, decode_payment_event
from schemas.dlq import DeadLetter
from services.common.kafka import client_kwargs, read_topic
from services.common.settings import IngestSettings
from tests.integration.ingest.helpers import (
    RunningIngest,
    bearer,
    committed_offsets,
    ingest_settings,
    metric_total,
    namespace,
    running_ingest,
    wait_until,
)
from tests.unit.ingest.factories import as_array, event

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

SETTLE_S = 40.0


@pytest.fixture(scope="module")
def ingest(kafka_bootstrap: str) -> Iterator[RunningIngest]:
    settings = ingest_settings(
        kafka_bootstrap, namespace("it-inbound"), ingest_inbound_enabled=True
    )
    with running_ingest(settings) as running:
        yield running


@pytest.fixture(scope="module")
def producer(kafka_bootstrap: str, ingest: RunningIngest) -> Iterator[KafkaProducer]:
    raw = KafkaProducer(acks="all", **client_kwargs(ingest.settings))
    try:
        yield raw
    finally:
        raw.close(timeout=5)


def send(producer: KafkaProducer, topic: str, values: list[bytes | None]) -> list[Any]:
    """Send raw values (the bank's pipeline) and return each record's metadata."""
    futures = [producer.send(topic, value=value, key=b"bank-key") for value in values]
    return [future.get(timeout=10) for future in futures]


def wait_committed(settings: IngestSettings, sent: list[Any]) -> None:
    """Until the group committed past every sent record: its batch was published and acked."""
    wanted: dict[int, int] = {}
    for meta in sent:
        wanted[meta.partition] = max(wanted.get(meta.partition, 0), meta.offset + 1)

    def done() -> bool:
        committed = committed_offsets(settings, settings.ingest_inbound_group_id)
        return all(committed.get(p, -1) >= o for p, o in wanted.items())

    wait_until(done, SETTLE_S, "the inbound consumer to commit")


def events_by_id(settings: IngestSettings) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for record in read_topic(settings, settings.topic_payment_events):
        found.setdefault(json.loads(record.value)["id"], []).append(record)
    return found


def dead_letters(settings: IngestSettings) -> dict[tuple[int, int], DeadLetter]:
    letters = [decode_dead_letter(r.value) for r in read_topic(settings, settings.topic_dlq)]
    return {(d.data.source_partition or 0, d.data.source_offset or 0): d for d in letters}


def kafka_counts() -> dict[str, float]:
    counts = {
        status: metric_total("nazorg_ingest_events_total", input="kafka", status=status)
        for status in ("accepted", "duplicate", "rejected")
    }
    counts["consumed"] = metric_total("nazorg_events_consumed_total", service="ingest")
    counts["dead_letters"] = metric_total("nazorg_ingest_dead_letters_total", input="kafka")
    return counts


def test_valid_records_are_published_and_the_rest_dead_lettered_with_their_bytes(
    ingest: RunningIngest, producer: KafkaProducer
) -> None:
    settings = ingest.settings
    before = kafka_counts()
    due, tick = event(), event("business_day_closed")
    returned = event("direct_debit_returned", reason_code="XX42")
    invalid = event(amount=12.5)
    values: list[bytes | None] = [
        json.dumps(due).encode(),
        json.dumps(tick).encode(),
        json.dumps(returned).encode(),
        json.dumps(due).encode(),  # a redelivery by the bank: duplicate
        json.dumps(invalid).encode(),  # schema violation
        b"{this is not json",
        b"\xff\xfe\x00 not utf-8",
        None,  # a tombstone
        b"[1, 2]",  # JSON, but not an event
    ]
    sent = send(producer, settings.topic_inbound, values)
    wait_committed(settings, sent)

    published = events_by_id(settings)
    assert len(published[due["id"]]) == 1
    [record] = published[due["id"]]
    assert record.key == due["data"]["loan_id"].encode()
    assert decode_payment_event(record.value).id == due["id"]
    assert len(published[tick["id"]]) == settings.topic_partitions
    assert json.loads(published[returned["id"]][0].value)["data"]["reason_category"] == "unknown"
    assert invalid["id"] not in published

    letters = dead_letters(settings)
    expected_reasons = {4: "schema_violation", 5: "invalid_json", 6: "invalid_json"}
    expected_reasons |= {7: "invalid_json", 8: "schema_violation"}
    for index, reason in expected_reasons.items():
        meta = sent[index]
        letter = letters[(meta.partition, meta.offset)]
        assert letter.data.source == "kafka"
        assert letter.data.source_topic == settings.topic_inbound
        assert letter.data.reason == reason
        assert letter.data.payload_bytes() == (values[index] or b"")
        assert letter.data.errors
        assert all(error.loc and error.msg for error in letter.data.errors)
    schema_letter = letters[(sent[4].partition, sent[4].offset)]
    assert [e.loc for e in schema_letter.data.errors] == ["data.amount"]
    assert letters[(sent[6].partition, sent[6].offset)].data.encoding == "base64"
    assert len(read_topic(settings, settings.topic_dlq)) == len(expected_reasons)  # one copy each

    after = kafka_counts()
    delta = {name: after[name] - before[name] for name in after}
    assert delta == {
        "accepted": 3,
        "duplicate": 1,
        "rejected": 5,
        "consumed": 9,
        "dead_letters": 5,
    }
    assert delta["consumed"] == delta["accepted"] + delta["duplicate"] + delta["rejected"]


def test_http_and_kafka_share_one_dedupe_window(
    ingest: RunningIngest, producer: KafkaProducer
) -> None:
    settings = ingest.settings
    sent_over_http = event("payment_received")
    answer = httpx.post(
        f"{ingest.url}/v1/events", content=as_array([sent_over_http]), headers=bearer()
    )
    assert answer.json()["accepted"] == 1
    before = kafka_counts()
    sent = send(producer, settings.topic_inbound, [json.dumps(sent_over_http).encode()])
    wait_committed(settings, sent)
    assert kafka_counts()["duplicate"] == before["duplicate"] + 1
    assert len(events_by_id(settings)[sent_over_http["id"]]) == 1
    assert (sent[0].partition, sent[0].offset) not in dead_letters(settings)


def test_a_restarted_ingest_resumes_after_the_committed_offsets(kafka_bootstrap: str) -> None:
    """Offsets are committed after each published batch: a new process (with an empty dedupe
    window) continues where the last one stopped, so nothing is lost or published twice."""
    settings = ingest_settings(
        kafka_bootstrap, namespace("it-restart"), ingest_inbound_enabled=True
    )
    first = [event() for _ in range(5)]
    second = [event() for _ in range(5)]
    raw = KafkaProducer(acks="all", **client_kwargs(settings))
    try:
        with running_ingest(settings):
            sent = send(raw, settings.topic_inbound, [json.dumps(e).encode() for e in first])
            wait_committed(settings, sent)
        sent = send(raw, settings.topic_inbound, [json.dumps(e).encode() for e in second])
        with running_ingest(settings):
            wait_committed(settings, sent)
    finally:
        raw.close(timeout=5)
    published = events_by_id(settings)
    assert {e["id"] for e in first + second} <= set(published)
    assert all(len(published[e["id"]]) == 1 for e in first + second)
