"""The consumer-lag collector (services/common/lag.py): the arithmetic, the exposition, and a
measurement of a real group on the test broker."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable

import pytest
from prometheus_client import generate_latest

from services.common.kafka import ensure_topics, make_consumer, make_producer
from services.common.lag import LagMonitor, LagProbe, PartitionLag, Probe, partition_lag
from services.common.stack import client_settings
from tests.deploy.catalogue import samples


def test_a_caught_up_partition_has_no_lag() -> None:
    lag = partition_lag(
        "t", 0, committed=10, log_start=0, end=10, next_timestamp_s=None, now_s=100.0
    )
    assert lag == PartitionLag("t", 0, 0, 0.0)


def test_lag_is_counted_from_the_committed_offset_and_aged_by_the_next_record() -> None:
    lag = partition_lag("t", 1, committed=4, log_start=0, end=10, next_timestamp_s=70.0, now_s=100)
    assert lag == PartitionLag("t", 1, 6, 30.0)


def test_a_group_that_never_committed_starts_at_the_log_start() -> None:
    for committed in (None, -1):
        lag = partition_lag(
            "t", 0, committed=committed, log_start=3, end=10, next_timestamp_s=99.0, now_s=100
        )
        assert (lag.messages, lag.seconds) == (7, 1.0)


def test_records_lost_to_retention_do_not_count_and_clocks_never_go_negative() -> None:
    lag = partition_lag("t", 0, committed=2, log_start=5, end=10, next_timestamp_s=101, now_s=100)
    assert (lag.messages, lag.seconds) == (5, 0.0)


def test_an_unread_next_record_leaves_the_seconds_out() -> None:
    lag = partition_lag("t", 0, committed=0, log_start=0, end=1, next_timestamp_s=None, now_s=1)
    assert (lag.messages, lag.seconds) == (1, None)


class FakeProbe:
    def __init__(self, lags: list[PartitionLag]) -> None:
        self.lags = lags
        self.closed = False

    def measure(self, topics: Iterable[str]) -> list[PartitionLag]:
        return self.lags

    def close(self) -> None:
        self.closed = True


def exported(group: str) -> dict[tuple[str, str, str], float]:
    text = generate_latest().decode()
    return {
        (name, labels.get("topic", ""), labels.get("partition", "")): value
        for name, labels, value in samples(text)
        if labels.get("group") == group
    }


def test_the_monitor_exports_its_measurement_until_stopped() -> None:
    group = f"g-{secrets.token_hex(4)}"
    probe = FakeProbe([PartitionLag("t", 0, 5, 12.5), PartitionLag("t", 1, 3, None)])
    settings = client_settings("127.0.0.1:1")
    monitor = LagMonitor(
        settings, group, lambda: ["t"], interval_s=0.05, probe_factory=lambda s, g: probe
    ).start()
    try:
        deadline = time.monotonic() + 5
        while monitor.measured_at is None and time.monotonic() < deadline:
            time.sleep(0.01)
        found = exported(group)
        assert found[("nazorg_consumer_lag_messages", "t", "0")] == 5
        assert found[("nazorg_consumer_lag_messages", "t", "1")] == 3
        assert found[("nazorg_consumer_lag_seconds", "t", "0")] == 12.5
        assert ("nazorg_consumer_lag_seconds", "t", "1") not in found
        assert found[("nazorg_consumer_lag_errors_total", "", "")] == 0
        assert found[("nazorg_consumer_lag_measured_timestamp_seconds", "", "")] > 0
    finally:
        monitor.stop(join_timeout_s=5)
    assert probe.closed
    assert exported(group) == {}


def test_a_failing_measurement_is_counted_and_retried_with_new_clients() -> None:
    group = f"g-{secrets.token_hex(4)}"
    made: list[int] = []

    def broken_probe(settings: object, group: str) -> Probe:
        made.append(1)
        raise ConnectionError("no broker")

    monitor = LagMonitor(
        client_settings("127.0.0.1:1"),
        group,
        lambda: ["t"],
        interval_s=0.01,
        probe_factory=broken_probe,
    ).start()
    try:
        deadline = time.monotonic() + 5
        while monitor.errors < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert exported(group)[("nazorg_consumer_lag_errors_total", "", "")] >= 3
        assert len(made) >= 3
    finally:
        monitor.stop(join_timeout_s=5)


@pytest.mark.integration
def test_the_probe_measures_a_real_group(kafka_bootstrap: str) -> None:
    settings = client_settings(kafka_bootstrap, f"lag{secrets.token_hex(3)}")
    topic = settings.topic_payment_events
    ensure_topics(settings, [topic])
    producer = make_producer(settings, linger_ms=20)
    for i in range(30):  # multi-record batches: Tansu's ListOffsets would undercount these
        producer.send(topic, value=b"%d" % i, partition=i % 2)
    producer.flush()
    producer.close()
    group = f"{settings.topic_payment_events}-group"
    probe = LagProbe(settings, group)
    try:
        before = {lag.partition: lag for lag in probe.measure([topic])}
        assert {p: lag.messages for p, lag in before.items()} == {0: 15, 1: 15, 2: 0, 3: 0}
        assert all(lag.seconds is not None and 0 <= lag.seconds < 60 for lag in before.values())

        consumer = make_consumer(settings, group, topic)
        consumed = 0
        deadline = time.monotonic() + 30
        while consumed < 30 and time.monotonic() < deadline:
            consumed += sum(len(r) for r in consumer.poll(200).values())
        consumer.commit()
        consumer.close()

        after = probe.measure([topic])
        assert [(lag.messages, lag.seconds) for lag in after] == [(0, 0.0)] * 4
    finally:
        probe.close()
