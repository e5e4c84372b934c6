"""Publishing canonical events to payments.events.v1 and waiting for the broker's acks.

A request is answered 2xx only after every accepted event is acknowledged (acks=all), so a crash
after the answer loses nothing. If any send fails the whole request fails (503); the bank retries
it, and events that did reach the broker come back as duplicates (ingest's window, then the
detector's event-id dedupe).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass

from kafka import KafkaProducer
from kafka.errors import KafkaError

from services.common.kafka import make_producer
from services.common.settings import IngestSettings


class PublishError(RuntimeError):
    """The broker did not acknowledge every event in time."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One record for the events topic. ``key`` None means: one copy to every partition."""

    key: bytes | None
    value: bytes


class Publisher:
    """A long-lived idempotent producer for one topic."""

    def __init__(self, settings: IngestSettings, topic: str | None = None) -> None:
        self._settings = settings
        self._topic = topic or settings.topic_payment_events
        timeout_ms = int(settings.ingest_publish_timeout_s * 1000)
        self._producer: KafkaProducer = make_producer(
            settings,
            client_id="nazorg-ingest",
            max_block_ms=timeout_ms,
            request_timeout_ms=min(timeout_ms, 10_000),
            delivery_timeout_ms=max(timeout_ms, min(timeout_ms, 10_000) + 5),
        )
        self._partitions: list[int] = []

    def partitions(self) -> list[int]:
        if not self._partitions:
            found = self._producer.partitions_for(self._topic)
            self._partitions = sorted(found or [])
        return self._partitions

    def publish(self, records: Sequence[Outgoing]) -> None:
        """Send all records and block until each is acknowledged; raise PublishError if not."""
        deadline = time.monotonic() + self._settings.ingest_publish_timeout_s
        try:
            futures = []
            for record in records:
                if record.key is None:
                    for partition in self.partitions():
                        futures.append(
                            self._producer.send(
                                self._topic, value=record.value, partition=partition
                            )
                        )
                else:
                    futures.append(
                        self._producer.send(self._topic, key=record.key, value=record.value)
                    )
            self._producer.flush(timeout=max(0.0, deadline - time.monotonic()))
            for future in futures:
                future.get(timeout=max(0.001, deadline - time.monotonic()))
        except KafkaError as exc:
            raise PublishError(f"broker did not acknowledge: {type(exc).__name__}") from exc

    def reachable(self, timeout: float = 1.0) -> bool:
        """A cheap readiness probe: can we open a TCP connection to a bootstrap server?"""
        for server in self._settings.bootstrap_list:
            host, _, port = server.rpartition(":")
            try:
                with socket.create_connection((host, int(port)), timeout=timeout):
                    return True
            except OSError:
                continue
        return False

    def close(self) -> None:
        self._producer.close(timeout=5)
