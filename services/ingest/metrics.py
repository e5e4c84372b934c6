"""Ingest's metrics: what was received and what became of it. Labels are bounded enums."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from services.common.metrics import READY
from services.ingest.intake import Assessment

__all__ = ["BATCH_EVENTS", "EVENTS", "PUBLISH_FAILURES", "PUBLISH_SECONDS", "READY", "record"]

EVENTS = Counter(
    "nazorg_ingest_events_total",
    "Events received by ingest, by input, event type and fate",
    ["input", "type", "status", "reason"],
)
PUBLISH_SECONDS = Histogram(
    "nazorg_ingest_publish_seconds",
    "Time from the first send of a batch until the broker acknowledged all of it",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PUBLISH_FAILURES = Counter(
    "nazorg_ingest_publish_failures_total", "Batches answered 503 because the broker failed"
)
BATCH_EVENTS = Histogram(
    "nazorg_ingest_batch_events",
    "Events per submitted batch",
    buckets=(1, 10, 50, 100, 500, 1000, 5000),
)


def record(assessment: Assessment, source: str = "http") -> None:
    """Count every event of an assessed batch under its fate."""
    for event_type in assessment.accepted_types:
        EVENTS.labels(input=source, type=event_type, status="accepted", reason="").inc()
    for reason in assessment.rejections:
        EVENTS.labels(input=source, type="", status="rejected", reason=reason).inc()
    duplicates = sum(1 for r in assessment.results if r.status == "duplicate")
    if duplicates:
        EVENTS.labels(input=source, type="", status="duplicate", reason="").inc(duplicates)
