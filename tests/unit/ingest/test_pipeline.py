from __future__ import annotations

import json
import threading

import pytest
from prometheus_client import REGISTRY

from schemas.codec import decode_dead_letter
from services.ingest.batch import Item
from services.ingest.dedupe import DedupeWindow
from services.ingest.inbound import InboundRecord
from services.ingest.pipeline import IngestPipeline
from services.ingest.publisher import PublishError
from tests.unit.ingest.factories import event
from tests.unit.ingest.fakes import FakeSink

DLQ = "t.payments.dlq.v1"
INBOUND = "t.payments.inbound.v1"


def pipeline(sink: FakeSink, window: int = 1000) -> IngestPipeline:
    return IngestPipeline(
        sink,
        DedupeWindow(window),
        inbound_topic=INBOUND,
        dlq_topic=DLQ,
        dlq_max_payload_bytes=4096,
    )


def items(*values: object) -> list[Item]:
    return [Item(i, v) for i, v in enumerate(values)]


def metric_total(name: str, **labels: str) -> float:
    return sum(
        sample.value
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def test_accepted_events_are_published_in_order_then_remembered() -> None:
    sink = FakeSink()
    gate = pipeline(sink)
    first, second = event(), event("payment_received")
    statuses = [r.status for r in gate.submit(items(first, event(amount=1), second)).results]
    assert statuses == ["accepted", "rejected", "accepted"]
    assert [json.loads(o.value)["id"] for o in sink.published] == [first["id"], second["id"]]
    again = gate.submit(items(second, first))
    assert [r.status for r in again.results] == ["duplicate", "duplicate"]
    assert sink.calls == 1  # nothing to publish: no call at all


def test_after_a_failed_publish_only_fully_acknowledged_events_are_remembered() -> None:
    sink = FakeSink(fail_with=(True, False))
    gate = pipeline(sink)
    first, second = event(), event()
    failures = metric_total("nazorg_ingest_publish_failures_total", input="http")
    received = metric_total("nazorg_ingest_received_total", input="http")
    with pytest.raises(PublishError):
        gate.submit(items(first, second))
    assert metric_total("nazorg_ingest_publish_failures_total", input="http") == failures + 1
    assert metric_total("nazorg_ingest_received_total", input="http") == received  # unsettled

    retry = gate.submit(items(first, second))
    assert [r.status for r in retry.results] == ["duplicate", "accepted"]
    assert [json.loads(o.value)["id"] for o in sink.published] == [first["id"], second["id"]]


def test_a_publish_that_fails_outright_remembers_nothing() -> None:
    sink = FakeSink(fail_with=())
    gate = pipeline(sink)
    sent = event()
    with pytest.raises(PublishError):
        gate.submit(items(sent))
    assert gate.submit(items(sent)).results[0].status == "accepted"


def test_settled_batches_are_counted_so_that_received_equals_the_fates() -> None:
    gate = pipeline(FakeSink())
    names = ("accepted", "duplicate", "rejected")
    before = [metric_total("nazorg_ingest_events_total", input="http", status=s) for s in names]
    received = metric_total("nazorg_ingest_received_total", input="http")
    sent = event()
    gate.submit(items(sent, sent, "junk", event(currency="GBP")))
    after = [metric_total("nazorg_ingest_events_total", input="http", status=s) for s in names]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 2]
    assert metric_total("nazorg_ingest_received_total", input="http") == received + 4


def test_records_publish_events_and_dead_letters_together_and_count_the_invariant() -> None:
    sink = FakeSink()
    gate = pipeline(sink)
    good = event()

    def counts() -> dict[str, float]:
        found = {
            s: metric_total("nazorg_ingest_events_total", input="kafka", status=s)
            for s in ("accepted", "duplicate", "rejected")
        }
        found["consumed"] = metric_total("nazorg_events_consumed_total", topic=INBOUND)
        found["dead"] = metric_total("nazorg_ingest_dead_letters_total", input="kafka")
        return found

    before = counts()
    values = [json.dumps(good).encode(), json.dumps(good).encode(), b"nope", None]
    records = [InboundRecord(INBOUND, 0, i, None, v) for i, v in enumerate(values)]
    inbound = gate.submit_records(records)
    assert [r.status for r in inbound.assessment.results] == [
        "accepted",
        "duplicate",
        "rejected",
        "rejected",
    ]
    assert [o.topic for o in sink.published] == [None, DLQ, DLQ]
    assert [decode_dead_letter(o.value).data.source_offset for o in sink.published[1:]] == [2, 3]
    delta = {k: v - before[k] for k, v in counts().items()}
    assert delta == {"accepted": 1, "duplicate": 1, "rejected": 2, "consumed": 4, "dead": 2}


def test_a_failed_record_batch_counts_nothing_and_can_be_retried() -> None:
    sink = FakeSink(fail_with=(False, False))
    gate = pipeline(sink)
    records = [
        InboundRecord(INBOUND, 0, 0, None, json.dumps(event()).encode()),
        InboundRecord(INBOUND, 0, 1, None, b"{"),
    ]
    consumed = metric_total("nazorg_events_consumed_total", topic=INBOUND)
    with pytest.raises(PublishError):
        gate.submit_records(records)
    assert metric_total("nazorg_events_consumed_total", topic=INBOUND) == consumed
    retried = gate.submit_records(records)
    assert [r.status for r in retried.assessment.results] == ["accepted", "rejected"]
    assert len(sink.published) == 2


def test_concurrent_submissions_of_one_event_publish_it_once() -> None:
    sink = FakeSink(delay_s=0.05)  # a slow broker widens any race between assess and remember
    gate = pipeline(sink)
    sent = event()
    statuses: list[str] = []

    def submit() -> None:
        statuses.extend(r.status for r in gate.submit(items(sent)).results)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(statuses) == ["accepted", "duplicate", "duplicate", "duplicate"]
    assert len(sink.published) == 1
