"""Ingest's metrics: what was received and what became of it.

Labels are bounded: ``input`` ∈ http | kafka | iso20022, ``type`` ∈ the event types or
``unknown``, ``status`` ∈ accepted | duplicate | rejected, ``reason`` ∈ ``invalid_json`` or a
validation error type. Never a client, loan or event id.

Items are counted once their batch is settled (answered 2xx, or published and about to be
committed), so for every input at any scrape:
``received == sum(events by status)`` and, for kafka, ``rejected == dead letters``.
"""

from __future__ import annotations

from collections import Counter as Tally

from prometheus_client import Counter, Gauge, Histogram

from services.common.metrics import EVENTS_CONSUMED, READY, mark_event
from services.ingest.intake import Assessment

__all__ = [
    "AUTH_FAILURES",
    "BATCH_EVENTS",
    "DEAD_LETTERS",
    "EVENTS",
    "EVENTS_CONSUMED",
    "INBOUND_BATCHES",
    "INBOUND_RUNNING",
    "PUBLISH_FAILURES",
    "PUBLISH_SECONDS",
    "READY",
    "RECEIVED",
    "REQUESTS",
    "UNKNOWN_REASON_CODES",
    "record",
]

RECEIVED = Counter(
    "nazorg_ingest_received_total",
    "Items in settled batches (answered 2xx, or published before the offset commit), by input",
    ["input"],
)
EVENTS = Counter(
    "nazorg_ingest_events_total",
    "Items in settled batches by input, event type, fate and rejection reason",
    ["input", "type", "status", "reason"],
)
DEAD_LETTERS = Counter(
    "nazorg_ingest_dead_letters_total",
    "Records written to the dead-letter topic, by input and reason",
    ["input", "reason"],
)
UNKNOWN_REASON_CODES = Counter(
    "nazorg_ingest_unknown_reason_codes_total",
    "Accepted events whose SEPA reason code has no rule (category unknown), by event type",
    ["type"],
)
PUBLISH_SECONDS = Histogram(
    "nazorg_ingest_publish_seconds",
    "Time from the first send of a batch until the broker acknowledged all of it",
    ["input"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PUBLISH_FAILURES = Counter(
    "nazorg_ingest_publish_failures_total",
    "Batches the broker did not fully acknowledge (HTTP 503, or a Kafka batch retried)",
    ["input"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "nazorg_ingest_http_request_seconds",
    "Time to answer POST /v1/events, from reading the body to the answer (acks included)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
BATCH_EVENTS = Histogram(
    "nazorg_ingest_batch_events",
    "Items per settled batch",
    ["input"],
    buckets=(1, 10, 50, 100, 500, 1000, 5000),
)
REQUESTS = Counter(
    "nazorg_ingest_http_requests_total",
    "POST /v1/events requests by outcome (ok or the error code of the answer)",
    ["outcome"],
)
AUTH_FAILURES = Counter(
    "nazorg_ingest_auth_failures_total",
    "Requests refused with 401, by why",
    ["reason"],
)
INBOUND_BATCHES = Counter(
    "nazorg_ingest_inbound_batches_total",
    "Polled batches of the inbound consumer by outcome "
    "(committed, publish_failed, commit_failed, error)",
    ["outcome"],
)
INBOUND_RUNNING = Gauge(
    "nazorg_ingest_inbound_running", "1 while the inbound consumer thread is running"
)


def record(assessment: Assessment, source: str = "http") -> None:
    """Count every item of a settled batch under its fate.

    Counted per label set, not per item: a batch has only a few distinct label sets, and a
    child lookup per item cost about as much as validating the event.
    """
    verdicts = assessment.verdicts
    if verdicts:
        mark_event("ingest", source)
    RECEIVED.labels(input=source).inc(len(verdicts))
    BATCH_EVENTS.labels(input=source).observe(len(verdicts))
    fates = Tally((v.event_type, v.status, v.reason) for v in verdicts)
    for (event_type, status, reason), count in fates.items():
        EVENTS.labels(input=source, type=event_type, status=status, reason=reason).inc(count)
    unknown = Tally(v.event_type for v in verdicts if v.unknown_reason_code)
    for event_type, count in unknown.items():
        UNKNOWN_REASON_CODES.labels(type=event_type).inc(count)
