"""Consumer lag of a consumer group, in messages and in seconds, for Prometheus.

A background thread measures the group every ``interval_s``: the group's committed offsets
(OffsetFetch) against each partition's end, and the timestamp of the next unconsumed record.
A collector on the default registry exports the latest measurement:

- ``nazorg_consumer_lag_messages{group,topic,partition}``: end offset - committed offset;
- ``nazorg_consumer_lag_seconds{group,topic,partition}``: now - timestamp of the record at the
  committed offset (the oldest one still waiting), 0 when the partition is caught up;
- ``nazorg_consumer_lag_measured_timestamp_seconds{group}`` and
  ``nazorg_consumer_lag_errors_total{group}``: whether the measurement itself works.

The end of a partition is the high watermark of a fetch response, never ListOffsets(latest):
Tansu 0.6 answers that with the last batch's base offset (docs/decisions/0007); on Apache Kafka
the two agree. A partition the group never committed counts from the log start, where a new
group with ``auto_offset_reset=earliest`` begins.

Every worker of a group reports the whole group (all partitions of its topics), so a lag is
still visible when the worker that owns the partition is gone; aggregate with
``max by (group, topic, partition)``, never ``sum``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from services.common.kafka import client_kwargs
from services.common.settings import CommonSettings

__all__ = [
    "DEFAULT_INTERVAL_S",
    "LagMonitor",
    "LagProbe",
    "PartitionLag",
    "Probe",
    "faust_source_topics",
    "monitor_faust_group",
    "partition_lag",
]

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 10.0
"""Measure this often; Prometheus scrapes the cached result (a scrape never waits on Kafka)."""
FETCH_TIMEOUT_S = 5.0
"""How long one measurement may wait for high watermarks and next records."""


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    messages: int
    seconds: float | None
    """None when the next record could not be read in time (the sample is left out)."""


def partition_lag(
    topic: str,
    partition: int,
    *,
    committed: int | None,
    log_start: int,
    end: int,
    next_timestamp_s: float | None,
    now_s: float,
) -> PartitionLag:
    """The lag of one partition from its offsets and the timestamp of the next record.

    ``committed`` is the group's next offset to consume (None or negative: never committed,
    so consumption starts at ``log_start``); ``end`` is the high watermark.
    """
    position = committed if committed is not None and committed >= 0 else log_start
    position = max(position, log_start)  # records before the log start are gone (retention)
    messages = max(end - position, 0)
    if messages == 0:
        return PartitionLag(topic, partition, 0, 0.0)
    seconds = None if next_timestamp_s is None else max(now_s - next_timestamp_s, 0.0)
    return PartitionLag(topic, partition, messages, seconds)


class Probe(Protocol):
    def measure(self, topics: Iterable[str]) -> list[PartitionLag]: ...

    def close(self) -> None: ...


class LagProbe:
    """Kafka clients that measure one group's lag; not thread-safe (one thread uses it)."""

    def __init__(self, settings: CommonSettings, group: str, *, client_id: str = "nazorg-lag"):
        self.group = group
        common = client_kwargs(settings)
        self.admin = KafkaAdminClient(client_id=client_id, **common)
        # Group-less and never committing: it only reads high watermarks and next records.
        self.consumer = KafkaConsumer(
            group_id=None,
            client_id=client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=100,
            max_partition_fetch_bytes=64 * 1024,
            **common,
        )

    def close(self) -> None:
        for client in (self.consumer, self.admin):
            try:
                client.close()
            except Exception:  # pragma: no cover - closing is best effort
                log.debug("closing a lag client failed", exc_info=True)

    def measure(
        self, topics: Iterable[str], fetch_timeout_s: float = FETCH_TIMEOUT_S
    ) -> list[PartitionLag]:
        """The lag of every partition of ``topics`` for this probe's group."""
        partitions = [
            TopicPartition(topic, p)
            for topic in sorted(set(topics))
            for p in sorted(self.consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return []
        committed = self._committed(partitions)
        starts: dict[TopicPartition, int] = self.consumer.beginning_offsets(partitions)
        positions = {
            tp: max(committed[tp], starts[tp]) if committed.get(tp, -1) >= 0 else starts[tp]
            for tp in partitions
        }
        ends, next_times = self._read_ends(positions, fetch_timeout_s)
        now = time.time()
        return [
            partition_lag(
                tp.topic,
                tp.partition,
                committed=committed.get(tp),
                log_start=starts[tp],
                end=ends[tp],
                next_timestamp_s=next_times.get(tp),
                now_s=now,
            )
            for tp in partitions
            if tp in ends
        ]

    def _committed(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        if hasattr(self.admin, "list_group_offsets"):  # kafka-python 3
            found = self.admin.list_group_offsets({self.group: partitions}).get(self.group, {})
        else:  # pragma: no cover - kafka-python 2
            found = self.admin.list_consumer_group_offsets(self.group, partitions=partitions)
        return {tp: int(meta.offset) for tp, meta in found.items()}

    def _read_ends(
        self, positions: Mapping[TopicPartition, int], timeout_s: float
    ) -> tuple[dict[TopicPartition, int], dict[TopicPartition, float]]:
        """High watermarks from fresh fetches, and the timestamp of the record at each
        position when there is one."""
        consumer = self.consumer
        consumer.unsubscribe()  # forget the previous round's high watermarks
        consumer.assign(list(positions))
        for tp, offset in positions.items():
            consumer.seek(tp, offset)
        next_times: dict[TopicPartition, float] = {}
        deadline = time.monotonic() + timeout_s
        while True:
            for tp, records in consumer.poll(timeout_ms=100).items():
                if records and tp not in next_times:
                    next_times[tp] = records[0].timestamp / 1000.0
                    consumer.pause(tp)
            ends = {tp: hw for tp in positions if (hw := consumer.highwater(tp)) is not None}
            complete = len(ends) == len(positions) and all(
                ends[tp] <= offset or tp in next_times for tp, offset in positions.items()
            )
            if complete or time.monotonic() > deadline:
                return ends, next_times


class LagMonitor:
    """A daemon thread measuring one group's lag every ``interval_s`` until ``stop()``."""

    def __init__(
        self,
        settings: CommonSettings,
        group: str,
        topics: Callable[[], Sequence[str]],
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        probe_factory: Callable[[CommonSettings, str], Probe] = LagProbe,
    ) -> None:
        self.settings = settings
        self.group = group
        self.topics = topics
        self.interval_s = interval_s
        self.probe_factory = probe_factory
        self.lags: list[PartitionLag] = []
        self.measured_at: float | None = None
        self.errors = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lag-{group}", daemon=True)

    def start(self) -> LagMonitor:
        _COLLECTOR.add(self)
        self._thread.start()
        return self

    def stop(self, join_timeout_s: float | None = None) -> None:
        """Ask the thread to end (it closes its clients); optionally wait for it."""
        self._stopping.set()
        _COLLECTOR.discard(self)
        if join_timeout_s is not None and self._thread.is_alive():
            self._thread.join(join_timeout_s)

    def measure_once(self, probe: Probe) -> None:
        self.lags = probe.measure(self.topics())
        self.measured_at = time.time()

    def _run(self) -> None:
        probe: Probe | None = None
        try:
            while not self._stopping.is_set():
                try:
                    probe = probe or self.probe_factory(self.settings, self.group)
                    self.measure_once(probe)
                except Exception:
                    # Kafka unreachable, group coordinator moving, ...: count it, start over
                    # with fresh clients, keep the last measurement (its age shows it is old).
                    self.errors += 1
                    log.warning("consumer lag not measured", exc_info=True)
                    if probe is not None:
                        probe.close()
                    probe = None
                self._stopping.wait(self.interval_s)
        finally:
            if probe is not None:
                probe.close()


class _LagCollector(Collector):
    """Exports the latest measurement of every running monitor of this process."""

    def __init__(self) -> None:
        self._monitors: list[LagMonitor] = []
        self._lock = threading.Lock()

    def add(self, monitor: LagMonitor) -> None:
        with self._lock:
            self._monitors.append(monitor)

    def discard(self, monitor: LagMonitor) -> None:
        with self._lock:
            if monitor in self._monitors:
                self._monitors.remove(monitor)

    def describe(self) -> Iterable[Metric]:
        return list(self._families([]))

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            monitors = list(self._monitors)
        return list(self._families(monitors))

    @staticmethod
    def _families(monitors: list[LagMonitor]) -> Iterator[Metric]:
        labels = ["group", "topic", "partition"]
        messages = GaugeMetricFamily(
            "nazorg_consumer_lag_messages",
            "Records between the group's committed offset and the partition's end",
            labels=labels,
        )
        seconds = GaugeMetricFamily(
            "nazorg_consumer_lag_seconds",
            "Age of the oldest record the group has not consumed (0 when caught up)",
            labels=labels,
        )
        measured = GaugeMetricFamily(
            "nazorg_consumer_lag_measured_timestamp_seconds",
            "Unix time of the last successful lag measurement",
            labels=["group"],
        )
        errors = CounterMetricFamily(
            "nazorg_consumer_lag_errors",
            "Lag measurements that failed (Kafka unreachable, coordinator moving, ...)",
            labels=["group"],
        )
        for monitor in monitors:
            for lag in monitor.lags:
                values = [monitor.group, lag.topic, str(lag.partition)]
                messages.add_metric(values, lag.messages)
                if lag.seconds is not None:
                    seconds.add_metric(values, lag.seconds)
            if monitor.measured_at is not None:
                measured.add_metric([monitor.group], monitor.measured_at)
            errors.add_metric([monitor.group], monitor.errors)
        yield from (messages, seconds, measured, errors)


_COLLECTOR = _LagCollector()
REGISTRY.register(_COLLECTOR)


def faust_source_topics(app: Any) -> list[str]:
    """The topics the app's agents consume (changelogs are not the group's)."""
    return sorted({name for topic in app.topics for name in (getattr(topic, "topics", None) or ())})


def monitor_faust_group(
    app: Any, settings: CommonSettings, *, interval_s: float = DEFAULT_INTERVAL_S
) -> None:
    """Measure the lag of the app's own consumer group while its worker runs.

    A task starts the monitor once the worker is up; the task is cancelled when the worker
    stops, which stops the monitor (apps built in tests and never run start nothing).
    """

    async def consumer_lag_monitor() -> None:
        monitor = LagMonitor(
            settings, app.conf.id, lambda: faust_source_topics(app), interval_s=interval_s
        ).start()
        try:
            await asyncio.Event().wait()
        finally:
            monitor.stop()

    app.task(consumer_lag_monitor)
