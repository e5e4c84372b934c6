"""The per-event hot path: the whole-body fast path, keys, partitions and counters give the
same answers as the plain path they shortcut."""

from __future__ import annotations

import gc
import json
import sys
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka.partitioner.default import DefaultPartitioner

from schemas.payments import PAYMENT_EVENT_ADAPTER
from schemas.topics import partition_key
from services.common.gc_tuning import GC_THRESHOLDS
from services.common.settings import IngestSettings
from services.ingest import metrics, server
from services.ingest.api import create_app
from services.ingest.batch import Item, split_json_array, split_valid_json_array
from services.ingest.dedupe import DedupeWindow
from services.ingest.intake import assess, routing_key
from services.ingest.pipeline import IngestPipeline
from services.ingest.publisher import KeyHashes, Outgoing, Publisher
from tests.unit.ingest.factories import EVENT_TYPES, as_array, event, one_of_each
from tests.unit.ingest.fakes import FakeSink
from tests.unit.ingest.strategies import mutated_events

TOKEN = "a-token-of-enough-length"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


def _fates(items: list[Item]) -> list[tuple[Any, ...]]:
    out = assess(items, DedupeWindow(100))
    return [
        (v.result, v.event_type, v.reason, v.outgoing, v.keys, v.unknown_reason_code)
        for v in out.verdicts
    ]


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_the_routing_key_is_the_topics_partition_key(event_type: str) -> None:
    validated = PAYMENT_EVENT_ADAPTER.validate_python(event(event_type))
    assert routing_key(validated) == partition_key(validated)


def test_a_valid_array_is_judged_exactly_as_element_by_element() -> None:
    batch = [*one_of_each(), *one_of_each()]
    batch.append(batch[0])  # a repeat inside the batch
    body = as_array(batch)
    fast = split_valid_json_array(body)
    assert fast is not None
    assert all(item.event is not None and item.value is None for item in fast)
    assert _fates(fast) == _fates(split_json_array(body))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated_events(), max_size=5))
def test_any_array_gets_the_same_verdicts_either_way(values: list[Any]) -> None:
    body = json.dumps(values).encode()
    plain = _fates(split_json_array(body))
    fast = split_valid_json_array(body)
    if fast is not None:  # otherwise the body takes the plain path itself
        assert _fates(fast) == plain
        assert all(fate[0].status != "rejected" for fate in plain)


def test_one_bad_event_sends_the_whole_body_down_the_item_path() -> None:
    body = as_array([event(), event(amount=1.5), event()])
    assert split_valid_json_array(body) is None
    statuses = [fate[0].status for fate in _fates(split_json_array(body))]
    assert statuses == ["accepted", "rejected", "accepted"]


def _client(sink: FakeSink, **overrides: Any) -> TestClient:
    settings_ = IngestSettings(
        bootstrap_servers="127.0.0.1:9", ingest_api_tokens=[TOKEN], **overrides
    )
    pipeline = IngestPipeline(
        sink, DedupeWindow(100), inbound_topic="i", dlq_topic="d", dlq_max_payload_bytes=4096
    )
    return TestClient(create_app(settings_, pipeline), raise_server_exceptions=False)


def test_the_api_answers_each_event_on_both_paths() -> None:
    sink = FakeSink()
    client = _client(sink)
    good, also_good = event(), event("payment_received")
    answer = client.post("/v1/events", content=as_array([good, also_good]), headers=HEADERS)
    assert answer.status_code == 200
    assert [r["status"] for r in answer.json()["results"]] == ["accepted", "accepted"]
    mixed = [event(), event(amount="1.005"), good]
    answer = client.post("/v1/events", content=as_array(mixed), headers=HEADERS)
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "duplicate"]
    assert results[1]["errors"][0]["loc"] == "data.amount"
    assert len(sink.published) == 3


def test_the_batch_limit_holds_on_the_fast_path_too() -> None:
    sink = FakeSink()
    answer = _client(sink, ingest_max_batch_events=2).post(
        "/v1/events", content=as_array([event(), event(), event()]), headers=HEADERS
    )
    assert answer.status_code == 413
    assert answer.json()["error"] == "batch_too_large"
    assert sink.calls == 0


class _Cluster:
    """Just enough of kafka-python's ClusterMetadata for its DefaultPartitioner."""

    def __init__(self, partitions: set[int]) -> None:
        self._partitions = partitions

    def topics(self) -> set[str]:
        return {"events"}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return self._partitions

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return self._partitions


class _Producer:
    """Records sends; its partitioner is the default one unless told otherwise."""

    def __init__(self, partitions: set[int], partitioner: Any = None) -> None:
        self.partitions = partitions
        self.config = {"partitioner": partitioner or DefaultPartitioner()}
        self.sent: list[dict[str, Any]] = []

    def partitions_for(self, topic: str) -> set[int]:
        return self.partitions

    def send(self, topic: str, **kwargs: Any) -> Any:
        self.sent.append({"topic": topic, **kwargs})

        class _Done:
            is_done = True
            exception = None

            @staticmethod
            def succeeded() -> bool:
                return True

        return _Done()

    def flush(self, timeout: float | None = None) -> None:
        return None


def _publisher(producer: _Producer) -> Publisher:
    publisher = Publisher(IngestSettings(bootstrap_servers="127.0.0.1:9"), topic="events")
    publisher._producer = producer  # type: ignore[assignment]
    return publisher


@given(st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=30), st.integers(1, 12))
def test_keyed_records_go_where_the_default_partitioner_puts_them(
    keys: list[bytes], count: int
) -> None:
    partitions = set(range(count))
    producer = _Producer(partitions)
    _publisher(producer).publish([Outgoing(key, b"v") for key in keys])
    expected = [
        DefaultPartitioner().partition("events", k, k, b"v", b"v", _Cluster(partitions))
        for k in keys
    ]
    assert [s["partition"] for s in producer.sent] == expected
    assert [s["key"] for s in producer.sent] == keys


def test_a_custom_partitioner_is_left_to_choose() -> None:
    class Custom(DefaultPartitioner):
        pass

    producer = _Producer({0, 1, 2}, partitioner=Custom())
    _publisher(producer).publish([Outgoing(b"L-1", b"v")])
    assert "partition" not in producer.sent[0]


def test_unkeyed_records_still_reach_every_partition_or_one() -> None:
    producer = _Producer({0, 1, 2})
    _publisher(producer).publish(
        [Outgoing(None, b"tick"), Outgoing(None, b"dead letter", topic="dlq", spread=False)]
    )
    assert [(s["topic"], s.get("partition")) for s in producer.sent] == [
        ("events", 0),
        ("events", 1),
        ("events", 2),
        ("dlq", None),
    ]


def test_key_hashes_are_remembered_within_their_bound() -> None:
    hashes = KeyHashes(capacity=2)
    first = hashes(b"a")
    assert hashes(b"a") == first
    hashes(b"b")
    hashes(b"c")  # full: forgotten wholesale, then remembered again
    assert hashes(b"a") == first


def test_warm_up_gives_up_quietly_without_a_broker() -> None:
    assert not Publisher(IngestSettings(bootstrap_servers="127.0.0.1:9")).warm_up()


def test_counters_per_label_set_add_up_to_one_per_item() -> None:
    unknown_code = event("direct_debit_rejected", reason_code="ZZ99")
    del unknown_code["data"]["reason_category"]  # derived: unknown
    values = [event(), unknown_code, {"type": "x"}]
    values.append(values[0])
    assessment = assess([Item(i, v) for i, v in enumerate(values)], DedupeWindow(10))
    expected = Counter((v.event_type, v.result.status, v.reason) for v in assessment.verdicts)

    def sample(event_type: str, status: str, reason: str) -> float:
        child = metrics.EVENTS.labels(input="unit", type=event_type, status=status, reason=reason)
        return float(child._value.get())

    before = {labels: sample(*labels) for labels in expected}
    unknown_before = metrics.UNKNOWN_REASON_CODES.labels(type="direct_debit_rejected")._value.get()
    metrics.record(assessment, "unit")
    assert {labels: sample(*labels) - before[labels] for labels in expected} == dict(expected)
    unknown_after = metrics.UNKNOWN_REASON_CODES.labels(type="direct_debit_rejected")._value.get()
    assert unknown_after - unknown_before == 1


def test_tune_runtime_freezes_start_up_objects_and_switches_threads_less_often() -> None:
    thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
    try:
        server.tune_runtime()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == GC_THRESHOLDS
        assert sys.getswitchinterval() == pytest.approx(server.SWITCH_INTERVAL_S)
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        sys.setswitchinterval(interval)
