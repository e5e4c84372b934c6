"""Publishing records and waiting for the broker's acks (kafka-python, acks=all, idempotent).

``publish`` returns only when every record is acknowledged, or raises ``PublishError`` naming
which records were. Callers answer 2xx (HTTP) or commit offsets (Kafka) only after it returned.
A record that was not acknowledged may still have reached the log (a timeout is not a refusal):
that is why every consumer dedupes by event id, and why the 503 contract is "retry the batch".

After a failure the producer is thrown away (its pending records are aborted rather than
delivered behind the caller's back) and a fresh one is built on the next publish: a kafka-python
producer that lost its broker does not always recover, a new one does.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Protocol

from kafka import KafkaProducer
from kafka.errors import KafkaError

from services.common.kafka import make_producer
from services.common.metrics import MESSAGES_PRODUCED
from services.common.settings import IngestSettings

log = logging.getLogger(__name__)


class PublishError(RuntimeError):
    """The broker did not acknowledge every record in time.

    ``acked[i]`` tells whether every copy of record ``i`` was acknowledged.
    """

    def __init__(self, message: str, acked: Sequence[bool] = ()) -> None:
        super().__init__(message)
        self.acked = tuple(acked)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One record. ``key`` None: one copy to every partition of the topic (the end-of-day tick)
    unless ``spread`` is False (then the producer picks one partition). ``topic`` None: the
    publisher's default topic."""

    key: bytes | None
    value: bytes
    topic: str | None = None
    spread: bool = True


class Sink(Protocol):
    """What the ingest pipeline needs from a publisher (a fake in unit tests)."""

    def publish(self, records: Sequence[Outgoing]) -> None: ...

    def reachable(self, timeout: float = 1.0) -> bool: ...


class Publisher:
    """A long-lived idempotent producer; thread-safe, one publish at a time."""

    def __init__(self, settings: IngestSettings, topic: str | None = None) -> None:
        self._settings = settings
        self._topic = topic or settings.topic_payment_events
        self._lock = threading.Lock()
        self._producer: KafkaProducer | None = None

    def _options(self) -> dict[str, Any]:
        timeout_ms = int(self._settings.ingest_publish_timeout_s * 1000)
        request_timeout_ms = min(timeout_ms, 10_000)
        return {
            "client_id": "nazorg-ingest",
            "max_block_ms": timeout_ms,
            "request_timeout_ms": request_timeout_ms,
            # A record not delivered by the time we answer 503 expires instead of arriving later.
            "delivery_timeout_ms": max(timeout_ms, request_timeout_ms + 5),
        }

    def _ready_producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = make_producer(self._settings, **self._options())
        return self._producer

    def _discard_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            producer.close(timeout=0)
        except KafkaError:
            # close() flushes first and gives up while records are pending: force the I/O
            # thread down (aborting them), then close for real.
            sender = getattr(producer, "_sender", None)
            if sender is not None:
                sender.force_close()
                sender.join(5)
            with suppress(KafkaError):
                producer.close(timeout=0)

    def _partitions(self, producer: KafkaProducer, topic: str) -> list[int]:
        # Not cached: partitions can be added at run time, and a tick must reach all of them.
        found = producer.partitions_for(topic)
        if not found:
            raise PublishError(f"topic {topic} has no partitions")
        return sorted(found)

    def publish(self, records: Sequence[Outgoing]) -> None:
        """Send all records and block until each is acknowledged; raise PublishError if not."""
        if not records:
            return
        with self._lock:
            self._publish(records)

    def _publish(self, records: Sequence[Outgoing]) -> None:
        deadline = time.monotonic() + self._settings.ingest_publish_timeout_s
        futures: list[list[Any]] = [[] for _ in records]
        try:
            producer = self._ready_producer()
            for index, record in enumerate(records):
                topic = record.topic or self._topic
                if record.key is None and record.spread:
                    for partition in self._partitions(producer, topic):
                        futures[index].append(
                            producer.send(topic, value=record.value, partition=partition)
                        )
                else:
                    futures[index].append(producer.send(topic, key=record.key, value=record.value))
            producer.flush(timeout=max(0.0, deadline - time.monotonic()))
            for copies in futures:
                for future in copies:
                    future.get(timeout=max(0.001, deadline - time.monotonic()))
        except Exception as exc:
            # Any failure of the client (not only KafkaError) means: not acknowledged.
            acked = [bool(copies) and all(_succeeded(f) for f in copies) for copies in futures]
            log.warning(
                "publish failed",
                extra={"error": type(exc).__name__, "records": len(records), "acked": sum(acked)},
            )
            self._discard_producer()
            raise PublishError(f"broker did not acknowledge: {type(exc).__name__}", acked) from exc
        for record, copies in zip(records, futures, strict=True):
            MESSAGES_PRODUCED.labels(service="ingest", topic=record.topic or self._topic).inc(
                len(copies)
            )

    def reachable(self, timeout: float = 1.0) -> bool:
        """A cheap readiness probe: can we open a TCP connection to a bootstrap server?"""
        for server in self._settings.bootstrap_list:
            host, _, port = server.rpartition(":")
            try:
                with socket.create_connection((host, int(port)), timeout=timeout):
                    return True
            except (OSError, ValueError):
                continue
        return False

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            producer, self._producer = self._producer, None
            if producer is not None:
                try:
                    producer.close(timeout=timeout)
                except KafkaError:
                    self._producer = producer
                    self._discard_producer()


def _succeeded(future: Any) -> bool:
    return bool(future.is_done and future.succeeded())
