"""The stall report: which day each partition last reached, the warnings of the services'
logs (pure), and a group's lag per partition (on the broker)."""

from __future__ import annotations

import json
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.structs import OffsetAndMetadata

from services.common.kafka import client_kwargs, ensure_topics, make_producer
from services.common.stack import client_settings
from tests.integration.ingest.helpers import namespace
from tests.reliability.stall import group_lag, last_dates, log_warnings


def record(partition: int, offset: int, body: dict[str, object]) -> ConsumerRecord:
    value = json.dumps(body).encode()
    return ConsumerRecord("t", partition, -1, offset, 0, 0, None, value, [], None, -1, -1, -1)


def tick(day: str) -> dict[str, object]:
    return {"type": "business_day_closed", "data": {"business_date": day}}


def test_last_dates_names_each_partitions_last_tick_with_its_offset_and_record_count() -> None:
    records = [
        record(0, 0, tick("2026-10-30")),
        record(0, 1, {"type": "payment_received", "data": {}}),
        record(1, 0, tick("2026-10-30")),
        record(0, 2, tick("2026-11-02")),
        record(2, 0, {"type": "payment_received", "data": {}}),
    ]
    assert last_dates(records, "business_day_closed") == {
        0: ("2026-11-02", 2, 3),
        1: ("2026-10-30", 0, 1),
    }


def test_log_warnings_keeps_the_last_warnings_and_errors_of_each_log(tmp_path: Path) -> None:
    lines = [
        {"level": "info", "msg": "started"},
        {"level": "warning", "msg": "first"},
        {"level": "error", "msg": "second"},
        {"level": "warning", "msg": "third"},
    ]
    (tmp_path / "detector.log").write_text("\n".join(json.dumps(line) for line in lines))
    (tmp_path / "ingest.log").write_text(json.dumps({"level": "info", "msg": "quiet"}))
    report = log_warnings(tmp_path, per_file=2).splitlines()
    assert report[0] == "detector.log: 3 warnings or errors"
    assert [json.loads(line)["msg"] for line in report[1:3]] == ["second", "third"]
    assert report[3] == "ingest.log: 0 warnings or errors"


def test_group_lag_counts_each_partitions_records_the_group_has_not_committed(
    kafka_bootstrap: str,
) -> None:
    settings = client_settings(kafka_bootstrap, namespace("stall"))
    ensure_topics(settings)
    topic = settings.topic_payment_events
    producer = make_producer(settings)
    try:
        for _ in range(3):
            producer.send(topic, value=b"{}", partition=0)
        producer.send(topic, value=b"{}", partition=1)
        producer.flush(10)
    finally:
        producer.close()
    group = f"{topic}-group"
    consumer = KafkaConsumer(group_id=group, enable_auto_commit=False, **client_kwargs(settings))
    try:
        consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(2, "", -1)})
    finally:
        consumer.close(autocommit=False)
    lag = group_lag(settings, group, topic)
    assert lag[0] == 1  # one record of partition 0 not processed
    assert lag[1] == 1  # partition 1 never committed: counted from the log start
    assert lag[2] == lag[3] == 0  # empty partitions
