"""The Kafka inbound path's shell: a consumer-group member on ``payments.inbound.v1``.

It runs as a background thread of the ``nazorg ingest`` process, sharing the HTTP path's
pipeline (one dedupe window, one producer). Each poll is one batch:

1. judge every record (``IngestPipeline.submit_records``), publish the accepted events to
   ``payments.events.v1`` and the dead letters to ``payments.dlq.v1``, wait for every ack;
2. only then commit the offsets after the batch.

A crash between 1 and 2 redelivers the batch (at-least-once); its events come back as duplicates
(same process) or are published again with the same ids (the detector dedupes). If the publish
fails, nothing is committed: the consumer seeks back to the batch's first offsets and tries again
after a back-off, so a broker outage pauses the path without losing or skipping a record. Any
other failure closes the consumer without committing and joins the group again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from typing import Any, Final, Protocol

from kafka import TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from services.common.kafka import make_consumer
from services.common.settings import IngestSettings
from services.ingest import metrics
from services.ingest.inbound import InboundRecord
from services.ingest.pipeline import IngestPipeline
from services.ingest.publisher import PublishError

log = logging.getLogger(__name__)

MAX_BACKOFF_S: Final = 30.0


class ConsumerLike(Protocol):
    """The part of kafka-python's ``KafkaConsumer`` the shell uses (a fake in unit tests)."""

    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> Mapping[Any, Any]: ...

    def seek(self, partition: Any, offset: int) -> None: ...

    def commit(self, offsets: Any = None) -> None: ...

    def assignment(self) -> Any: ...

    def close(self, autocommit: bool = True) -> None: ...


def kafka_consumer(settings: IngestSettings) -> ConsumerLike:
    """The production consumer: group member, manual commits, bounded polls."""
    consumer: ConsumerLike = make_consumer(
        settings,
        settings.ingest_inbound_group_id,
        settings.topic_inbound,
        client_id="nazorg-ingest-inbound",
        max_poll_records=settings.ingest_inbound_max_records,
    )
    return consumer


class InboundConsumer:
    """Consumes the inbound topic in a thread until ``stop``; never dies of a bad record."""

    def __init__(
        self,
        settings: IngestSettings,
        pipeline: IngestPipeline,
        factory: Callable[[], ConsumerLike] | None = None,
    ) -> None:
        self._settings = settings
        self._pipeline = pipeline
        self._factory = factory or (lambda: kafka_consumer(settings))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._backoff = settings.ingest_inbound_retry_backoff_s

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the inbound consumer was started already")
        if self._settings.consumer_max_poll_interval_s <= self._settings.ingest_publish_timeout_s:
            log.warning("consumer_max_poll_interval_s should exceed ingest_publish_timeout_s")
        self._thread = threading.Thread(target=self.run, name="ingest-inbound", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to finish its batch and leave the group; wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("inbound consumer did not stop in time")

    def alive(self) -> bool:
        """True while the thread runs (liveness of the process depends on it)."""
        return self._thread is not None and self._thread.is_alive()

    def run(self) -> None:
        """The thread body: (re)connect and process batches until stopped."""
        metrics.INBOUND_RUNNING.set(1)
        try:
            while not self._stop.is_set():
                consumer: ConsumerLike | None = None
                try:
                    consumer = self._factory()
                    self._consume(consumer)
                except Exception:
                    # A bug or a client failure: nothing of the current batch was committed,
                    # so reconnecting redelivers it. Back off so a persistent fault cannot spin.
                    log.exception("inbound consumer failed; joining again")
                    metrics.INBOUND_BATCHES.labels(outcome="error").inc()
                    self._pause()
                finally:
                    if consumer is not None:
                        with suppress(Exception):
                            consumer.close(autocommit=False)
        finally:
            metrics.INBOUND_RUNNING.set(0)

    def _consume(self, consumer: ConsumerLike) -> None:
        while not self._stop.is_set():
            outcome = self.process_one_poll(consumer)
            if outcome == "publish_failed":
                self._pause()
            elif outcome != "idle":
                self._backoff = self._settings.ingest_inbound_retry_backoff_s

    def _pause(self) -> None:
        self._stop.wait(self._backoff)
        # Not beyond half the poll interval: a member that stops polling is evicted from the group.
        ceiling = min(MAX_BACKOFF_S, self._settings.consumer_max_poll_interval_s / 2)
        self._backoff = min(
            self._backoff * 2, max(ceiling, self._settings.ingest_inbound_retry_backoff_s)
        )

    def process_one_poll(self, consumer: ConsumerLike) -> str:
        """Poll once and settle the batch; returns the outcome (also a metric label):
        ``idle``, ``committed``, ``publish_failed`` or ``commit_failed``."""
        polled = consumer.poll(
            timeout_ms=int(self._settings.ingest_inbound_poll_timeout_s * 1000),
            max_records=self._settings.ingest_inbound_max_records,
        )
        batches = [(tp, list(records)) for tp, records in polled.items() if records]
        if not batches:
            return "idle"
        records = [_inbound(record) for _, batch in batches for record in batch]
        try:
            self._pipeline.submit_records(records)
        except PublishError:
            log.warning("inbound batch not acknowledged; will retry", extra={"n": len(records)})
            self._rewind(consumer, batches)
            metrics.INBOUND_BATCHES.labels(outcome="publish_failed").inc()
            return "publish_failed"
        offsets = {tp: OffsetAndMetadata(batch[-1].offset + 1, "", -1) for tp, batch in batches}
        try:
            consumer.commit(offsets)
        except KafkaError as exc:
            # Published but not committed: a new owner of the partition redelivers the batch,
            # which then dedupes. Not an error for the data, but worth seeing.
            log.warning("inbound commit failed", extra={"error": type(exc).__name__})
            metrics.INBOUND_BATCHES.labels(outcome="commit_failed").inc()
            return "commit_failed"
        metrics.INBOUND_BATCHES.labels(outcome="committed").inc()
        return "committed"

    @staticmethod
    def _rewind(
        consumer: ConsumerLike, batches: Sequence[tuple[TopicPartition, list[Any]]]
    ) -> None:
        assigned = set(consumer.assignment())
        for tp, batch in batches:
            if tp in assigned:
                consumer.seek(tp, batch[0].offset)


def _inbound(record: Any) -> InboundRecord:
    return InboundRecord(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp=record.timestamp,
        value=record.value,
    )
