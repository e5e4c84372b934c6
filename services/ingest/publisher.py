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
from collections import Counter as Tally
from collections.abc import Sequence
from contextlib import suppress
from typing import Any, Final, NamedTuple, Protocol

from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.partitioner.default import DefaultPartitioner, murmur2

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


class Outgoing(NamedTuple):
    """One record. ``key`` None: one copy to every partition of the topic (the end-of-day tick)
    unless ``spread`` is False (then the producer picks one partition). ``topic`` None: the
    publisher's default topic. (A named tuple: immutable, and cheap to build per event.)"""

    key: bytes | None
    value: bytes
    topic: str | None = None
    spread: bool = True


class Sink(Protocol):
    """What the ingest pipeline needs from a publisher (a fake in unit tests)."""

    def publish(self, records: Sequence[Outgoing]) -> None: ...

    def reachable(self, timeout: float = 1.0) -> bool: ...


PRODUCER_TUNING: Final[dict[str, Any]] = {"batch_size": 262144, "linger_ms": 5}
"""Batching on top of ``make_producer``'s defaults (bench/ingest_http.py's anchor uses it too).

With the default 16 KiB batches a 1,000-event publish fills dozens of batches per partition
while earlier ones are still in flight, and kafka-python then wakes its I/O thread on every
``send`` (a socket write each); 256 KiB holds a whole HTTP batch's share of a partition, so
a publish costs a handful of produce requests. Well below the brokers' 1 MiB message limit.
"""


class KeyHashes:
    """The partitioning hash of record keys, remembered.

    kafka-python's ``DefaultPartitioner`` puts a keyed record on
    ``sorted(partitions)[(murmur2(key) & 0x7fffffff) % len(partitions)]``, the Java client's
    choice, computing the pure-Python murmur2 (and sorting) on every ``send``. Loans come back
    every day, so ingest remembers each key's hash and names the partition itself: the same
    partition, without the per-record work. Bounded: forgotten wholesale when full.
    """

    def __init__(self, capacity: int = 200_000) -> None:
        self._capacity = capacity
        self._hashes: dict[bytes, int] = {}

    def __call__(self, key: bytes) -> int:
        found = self._hashes.get(key)
        if found is None:
            if len(self._hashes) >= self._capacity:
                self._hashes.clear()
            found = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
        return found


class Publisher:
    """A long-lived idempotent producer; thread-safe, one publish at a time."""

    def __init__(self, settings: IngestSettings, topic: str | None = None) -> None:
        self._settings = settings
        self._topic = topic or settings.topic_payment_events
        self._lock = threading.Lock()
        self._producer: KafkaProducer | None = None
        self._key_hashes = KeyHashes()

    def _options(self) -> dict[str, Any]:
        timeout_ms = int(self._settings.ingest_publish_timeout_s * 1000)
        request_timeout_ms = min(timeout_ms, 10_000)
        return {
            **PRODUCER_TUNING,
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
        # sent[i]: the futures of every copy of record i (a record not sent has none).
        sent: list[tuple[Any, ...]] = []
        try:
            producer = self._ready_producer()
            send = producer.send
            # Keyed records get the partition the producer's DefaultPartitioner would pick.
            keyed: dict[str, list[int]] | None = (
                {} if type(producer.config["partitioner"]) is DefaultPartitioner else None
            )
            key_hash = self._key_hashes
            for record in records:
                topic = record.topic or self._topic
                key = record.key
                if key is None:
                    if record.spread:
                        copies = tuple(
                            send(topic, value=record.value, partition=partition)
                            for partition in self._partitions(producer, topic)
                        )
                    else:
                        copies = (send(topic, value=record.value),)
                elif keyed is None:
                    copies = (send(topic, key=key, value=record.value),)
                else:
                    partitions = keyed.get(topic)
                    if partitions is None:  # looked up once per publish
                        partitions = keyed[topic] = self._partitions(producer, topic)
                    partition = partitions[key_hash(key) % len(partitions)]
                    copies = (send(topic, key=key, value=record.value, partition=partition),)
                sent.append(copies)
            producer.flush(timeout=max(0.0, deadline - time.monotonic()))
            for copies in sent:
                for future in copies:
                    if not (future.is_done and future.exception is None):
                        future.get(timeout=max(0.001, deadline - time.monotonic()))
        except Exception as exc:
            # Any failure of the client (not only KafkaError) means: not acknowledged.
            acked = [bool(copies) and all(_succeeded(f) for f in copies) for copies in sent]
            acked += [False] * (len(records) - len(acked))
            log.warning(
                "publish failed",
                extra={"error": type(exc).__name__, "records": len(records), "acked": sum(acked)},
            )
            self._discard_producer()
            raise PublishError(f"broker did not acknowledge: {type(exc).__name__}", acked) from exc
        produced = Tally[str]()
        for record, copies in zip(records, sent, strict=True):
            produced[record.topic or self._topic] += len(copies)
        for topic, count in produced.items():
            MESSAGES_PRODUCED.labels(service="ingest", topic=topic).inc(count)

    def warm_up(self) -> bool:
        """Connect now, so that the first batch does not wait for the producer to be built
        (bootstrap, API versions, the topic's partitions). Best effort: ``False``, and the
        first publish builds it, when the broker cannot be reached."""
        if not self.reachable():
            return False
        with self._lock:
            try:
                self._partitions(self._ready_producer(), self._topic)
            except Exception as exc:  # the first publish will try again and report it
                log.warning("producer warm-up failed", extra={"error": type(exc).__name__})
                self._discard_producer()
                return False
        return True

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
