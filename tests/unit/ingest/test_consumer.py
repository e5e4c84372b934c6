"""The inbound consumer shell: commit only after the batch is acknowledged, never lose a record."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from kafka import TopicPartition
from prometheus_client import REGISTRY

from services.common.settings import IngestSettings
from services.ingest.consumer import InboundConsumer
from services.ingest.dedupe import DedupeWindow
from services.ingest.pipeline import IngestPipeline
from services.ingest.publisher import Outgoing
from tests.unit.ingest.factories import event
from tests.unit.ingest.fakes import FakeConsumer, FakeRecord, FakeSink

TOPIC = "u.payments.inbound.v1"
TP0, TP1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
SETTINGS = IngestSettings(
    bootstrap_servers="127.0.0.1:9",
    topic_inbound=TOPIC,
    ingest_inbound_retry_backoff_s=0.01,
    ingest_inbound_poll_timeout_s=0.01,
    ingest_inbound_max_records=10,
)


def log_of(*values: tuple[TopicPartition, bytes | None]) -> dict[TopicPartition, list[FakeRecord]]:
    log: dict[TopicPartition, list[FakeRecord]] = {}
    for tp, value in values:
        records = log.setdefault(tp, [])
        records.append(FakeRecord(tp.topic, tp.partition, len(records), value))
    return log


def shell(sink: FakeSink) -> InboundConsumer:
    pipeline = IngestPipeline(
        sink,
        DedupeWindow(100),
        inbound_topic=TOPIC,
        dlq_topic="u.dlq",
        dlq_max_payload_bytes=4096,
    )
    return InboundConsumer(SETTINGS, pipeline)


def ids(sink: FakeSink) -> list[str]:
    return [json.loads(o.value)["id"] for o in sink.published if o.topic is None]


class CommitWatchingSink(FakeSink):
    """Fails the test if a commit happened before the publish that it covers returned."""

    consumer: FakeConsumer | None = None
    commits_seen_at_publish: list[int]

    def __init__(self) -> None:
        super().__init__()
        self.commits_seen_at_publish = []

    def publish(self, records: Sequence[Outgoing]) -> None:
        assert self.consumer is not None
        self.commits_seen_at_publish.append(len(self.consumer.commits))
        super().publish(records)


def test_a_batch_is_committed_after_its_events_and_dead_letters_are_acknowledged() -> None:
    a, b = event(), event("payment_received")
    sink = CommitWatchingSink()
    consumer = FakeConsumer(
        log_of((TP0, json.dumps(a).encode()), (TP1, b"not json"), (TP0, json.dumps(b).encode()))
    )
    sink.consumer = consumer
    assert shell(sink).process_one_poll(consumer) == "committed"
    assert sink.commits_seen_at_publish == [0]
    assert consumer.commits == [{TP0: 2, TP1: 1}]
    assert ids(sink) == [a["id"], b["id"]]
    assert [o.topic for o in sink.published] == [None, None, "u.dlq"]
    assert shell(sink).process_one_poll(consumer) == "idle"


def test_a_failed_publish_commits_nothing_and_the_same_records_come_again() -> None:
    a, b = event(), event()
    sink = FakeSink(fail_with=(False, False))
    consumer = FakeConsumer(log_of((TP0, json.dumps(a).encode()), (TP1, json.dumps(b).encode())))
    inbound = shell(sink)
    assert inbound.process_one_poll(consumer) == "publish_failed"
    assert consumer.commits == []
    assert consumer.positions == {TP0: 0, TP1: 0}
    assert inbound.process_one_poll(consumer) == "committed"
    assert consumer.commits == [{TP0: 1, TP1: 1}]
    assert sorted(ids(sink)) == sorted([a["id"], b["id"]])


def test_a_failed_commit_is_reported_and_the_records_stay_published() -> None:
    sink = FakeSink()
    consumer = FakeConsumer(log_of((TP0, json.dumps(event()).encode())), fail_commit=True)
    before = REGISTRY.get_sample_value(
        "nazorg_ingest_inbound_batches_total", {"outcome": "commit_failed"}
    )
    assert shell(sink).process_one_poll(consumer) == "commit_failed"
    after = REGISTRY.get_sample_value(
        "nazorg_ingest_inbound_batches_total", {"outcome": "commit_failed"}
    )
    assert (after or 0) == (before or 0) + 1
    assert len(sink.published) == 1


class ExplodingOnce(FakeSink):
    """A bug in the path (not a publish failure) the first time only."""

    exploded = False

    def publish(self, records: Sequence[Outgoing]) -> None:
        if not self.exploded:
            self.exploded = True
            raise RuntimeError("a bug")
        super().publish(records)


def test_the_thread_survives_connect_failures_and_bugs_and_redelivers_uncommitted_records() -> None:
    sent = event()
    log = log_of((TP0, json.dumps(sent).encode()))
    made: list[FakeConsumer] = []

    def factory() -> FakeConsumer:
        if not made:
            made.append(FakeConsumer(log))  # placeholder so the next call succeeds
            raise ConnectionError("no broker yet")
        committed = made[-1].commits[-1] if made[-1].commits else {}
        consumer = FakeConsumer(log, positions=dict(committed))
        made.append(consumer)
        return consumer

    sink = ExplodingOnce()
    pipeline = IngestPipeline(
        sink, DedupeWindow(100), inbound_topic=TOPIC, dlq_topic="u.dlq", dlq_max_payload_bytes=4096
    )
    inbound = InboundConsumer(SETTINGS, pipeline, factory=factory)
    inbound.start()
    try:
        deadline = time.monotonic() + 10
        while not any(c.commits for c in made) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert inbound.alive()
        assert REGISTRY.get_sample_value("nazorg_ingest_inbound_running") == 1
    finally:
        inbound.stop(timeout=10)
    assert not inbound.alive()
    assert REGISTRY.get_sample_value("nazorg_ingest_inbound_running") == 0
    assert ids(sink) == [sent["id"]]  # published once, after the bug, from a fresh consumer
    assert len(made) == 3  # failed connect, the consumer the bug closed, the one that committed
    assert made[1].closed
    assert made[1].commits == []
    assert made[2].commits == [{TP0: 1}]
    assert made[2].closed
