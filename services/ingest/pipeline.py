"""The one gate every input path goes through: assess, publish with acks, then remember.

A lock serialises the three steps, so a duplicate is never reported for an event whose first
copy is still in flight (and might yet fail), and the HTTP and Kafka paths share one dedupe
window. Only acknowledged events are remembered: after a failed publish, the events that were
fully acknowledged are remembered (a retry reports them as duplicates, truthfully), the rest are
not (a retry publishes them).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from services.ingest import metrics
from services.ingest.batch import Item
from services.ingest.deadletter import INVALID_JSON, SCHEMA_VIOLATION
from services.ingest.dedupe import DedupeWindow
from services.ingest.inbound import InboundAssessment, InboundRecord, assess_records
from services.ingest.intake import Assessment, Verdict, assess
from services.ingest.publisher import Outgoing, PublishError, Sink


class IngestPipeline:
    """Validation, dedupe and acknowledged publishing, shared by every input of one process."""

    def __init__(
        self,
        sink: Sink,
        window: DedupeWindow,
        *,
        inbound_topic: str,
        dlq_topic: str,
        dlq_max_payload_bytes: int,
    ) -> None:
        self._sink = sink
        self._window = window
        self._inbound_topic = inbound_topic
        self._dlq_topic = dlq_topic
        self._dlq_max_payload_bytes = dlq_max_payload_bytes
        self._lock = threading.Lock()

    def reachable(self) -> bool:
        """Readiness: can the broker be reached at all?"""
        return self._sink.reachable()

    def submit(self, items: Sequence[Item], source: str = "http") -> Assessment:
        """Judge a batch and publish its accepted events; raise ``PublishError`` unless every
        one of them is acknowledged."""
        with self._lock:
            assessment = assess(items, self._window)
            self._publish(assessment.accepted, assessment.to_publish, source)
            metrics.record(assessment, source)
            return assessment

    def submit_records(
        self, records: Sequence[InboundRecord], received_at: datetime | None = None
    ) -> InboundAssessment:
        """Judge consumed records, publish their events and dead letters; raise
        ``PublishError`` unless all of them are acknowledged (then nothing may be committed)."""
        with self._lock:
            inbound = assess_records(
                records,
                self._window,
                dlq_topic=self._dlq_topic,
                received_at=received_at or datetime.now(UTC),
                max_payload_bytes=self._dlq_max_payload_bytes,
            )
            accepted = inbound.assessment.accepted
            self._publish(accepted, inbound.to_publish, "kafka")
            metrics.record(inbound.assessment, "kafka")
            for verdict in inbound.assessment.verdicts:
                if verdict.status == "rejected":
                    reason = INVALID_JSON if verdict.reason == INVALID_JSON else SCHEMA_VIOLATION
                    metrics.DEAD_LETTERS.labels(input="kafka", reason=reason).inc()
            metrics.EVENTS_CONSUMED.labels(service="ingest", topic=self._inbound_topic).inc(
                len(records)
            )
            return inbound

    def _publish(
        self, accepted: Sequence[Verdict], records: Sequence[Outgoing], source: str
    ) -> None:
        """Publish ``records`` (the accepted events first, in order) and remember the events."""
        if not records:
            return
        started = time.perf_counter()
        try:
            self._sink.publish(records)
        except PublishError as exc:
            metrics.PUBLISH_FAILURES.labels(input=source).inc()
            done = [v for v, ok in zip(accepted, exc.acked, strict=False) if ok]
            self._window.remember(key for verdict in done for key in verdict.keys)
            raise
        metrics.PUBLISH_SECONDS.labels(input=source).observe(time.perf_counter() - started)
        self._window.remember(key for verdict in accepted for key in verdict.keys)
