"""Prometheus metrics shared by the services (prometheus-client, default registry)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

__all__ = [
    "CONTENT_TYPE_LATEST",
    "EVENTS_CONSUMED",
    "LAST_EVENT",
    "MESSAGES_PRODUCED",
    "PROCESSING_ERRORS",
    "PROCESSING_SECONDS",
    "READY",
    "mark_event",
    "render",
]

EVENTS_CONSUMED = Counter(
    "nazorg_events_consumed_total",
    "Messages a service consumed from a topic",
    ["service", "topic"],
)
MESSAGES_PRODUCED = Counter(
    "nazorg_messages_produced_total",
    "Messages a service produced to a topic",
    ["service", "topic"],
)
PROCESSING_ERRORS = Counter(
    "nazorg_processing_errors_total",
    "Messages a service could not process (sent to a dead-letter record or skipped with a log)",
    ["service", "reason"],
)
PROCESSING_SECONDS = Histogram(
    "nazorg_processing_seconds",
    "Time to process one consumed message, including the writes it causes",
    ["service"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
READY = Gauge("nazorg_ready", "1 when the service is ready to do its work", ["service"])
LAST_EVENT = Gauge(
    "nazorg_last_event_timestamp_seconds",
    "Unix time (wall clock) at which the service last took in a message from this input",
    ["service", "input"],
)
"""``input`` is a bounded name of where messages come from: ingest's ``http``, ``kafka`` and
``iso20022``; for the Faust workers the topic an agent consumes (set in ``add_timed_agent``).
Alerts such as "no payment events in a collection window" use
``time() - nazorg_last_event_timestamp_seconds``."""


def mark_event(service: str, input_name: str) -> None:
    """Record that ``service`` just took in a message from ``input_name`` (now, wall clock)."""
    LAST_EVENT.labels(service=service, input=input_name).set_to_current_time()


def render() -> bytes:
    """The text exposition of the default registry."""
    return generate_latest()
