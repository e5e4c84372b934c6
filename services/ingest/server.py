"""``nazorg ingest``: the HTTP API (uvicorn) and the inbound consumer thread in one process.

They share one pipeline (producer, dedupe window, lock), so an event sent over HTTP and again on
the inbound topic is reported a duplicate the second time. ``IngestRuntime`` wires the parts;
``serve`` runs it in the foreground until SIGINT/SIGTERM, then stops the consumer (finishing its
batch; an unfinished one is simply not committed) and closes the producer.
"""

from __future__ import annotations

import logging
import sys
from typing import Final

import uvicorn
from fastapi import FastAPI

from services.common.gc_tuning import tune_gc
from services.common.kafka import ensure_topics
from services.common.lag import LagMonitor
from services.common.logging import configure_logging
from services.common.settings import IngestSettings
from services.ingest.api import create_app
from services.ingest.consumer import InboundConsumer
from services.ingest.dedupe import DedupeWindow
from services.ingest.pipeline import IngestPipeline
from services.ingest.publisher import Publisher

log = logging.getLogger(__name__)


class IngestRuntime:
    """Publisher, pipeline, HTTP app and (if enabled) the inbound consumer of one process."""

    def __init__(self, settings: IngestSettings) -> None:
        self.settings = settings
        self.publisher = Publisher(settings)
        self.pipeline = IngestPipeline(
            self.publisher,
            DedupeWindow(settings.ingest_dedupe_window),
            inbound_topic=settings.topic_inbound,
            dlq_topic=settings.topic_dlq,
            dlq_max_payload_bytes=settings.ingest_dlq_max_payload_bytes,
        )
        self.inbound: InboundConsumer | None = (
            InboundConsumer(settings, self.pipeline) if settings.ingest_inbound_enabled else None
        )
        self.app: FastAPI = create_app(settings, self.pipeline, alive=self.alive)
        self.lag: LagMonitor | None = None

    def alive(self) -> bool:
        return self.inbound is None or self.inbound.alive()

    def start(self) -> IngestRuntime:
        """Start the background parts (the inbound consumer and its lag monitor); the caller
        serves ``app``."""
        if self.inbound is not None:
            self.inbound.start()
            settings = self.settings
            self.lag = LagMonitor(
                settings, settings.ingest_inbound_group_id, lambda: [settings.topic_inbound]
            ).start()
        return self

    def close(self) -> None:
        """Stop the consumer, then close the producer (in that order: it may be publishing)."""
        try:
            if self.lag is not None:
                self.lag.stop()
            if self.inbound is not None:
                self.inbound.stop()
        finally:
            self.publisher.close()


SWITCH_INTERVAL_S: Final = 0.02
"""How long a thread may keep the GIL while another waits for it (Python's default: 5 ms)."""


def tune_runtime() -> None:
    """Keep the interpreter's own overheads off the hot path of a long-running ingest process.

    Garbage collector: a 1,000-event batch allocates tens of thousands of objects that live
    until it is answered (events, verdicts, results), so with the default thresholds the
    collector ran many times per batch and every few batches walked the whole heap, the
    ~100,000 objects of the app, its schemas and clients included. Freezing what exists after
    start-up (none of it is ever garbage) takes it out of every collection, and rarer young
    collections stop re-examining a batch's objects. Garbage that is not cyclic is freed by
    reference counting as before; cycles are still collected, later.

    GIL switch interval: a batch is validated and published on one worker thread while the
    event loop and kafka-python's I/O thread wake up for timers and sockets; every 5 ms they
    forced the worker to hand the GIL over, and on a busy machine the thread it was handed to
    is often not even running yet. With 20 ms the worker keeps it through most of a batch; the
    others still get it whenever the worker waits (for the broker's acks, for the next
    request), at the cost of up to 20 ms more latency for a probe that arrives mid-batch.
    """
    tune_gc()
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def serve(settings: IngestSettings | None = None) -> None:
    settings = settings or IngestSettings()
    configure_logging(settings.log_level, settings.log_format)
    if not settings.ingest_api_tokens and not settings.ingest_hmac_keys:
        log.warning("no NAZORG_INGEST_API_TOKENS or NAZORG_INGEST_HMAC_KEYS: every POST gets 401")
    ensure_topics(settings)
    runtime = IngestRuntime(settings)
    runtime.publisher.warm_up()
    tune_runtime()
    try:
        runtime.start()
        log.info(
            "ingest listening",
            extra={
                "host": settings.ingest_host,
                "port": settings.ingest_port,
                "inbound": settings.ingest_inbound_enabled,
            },
        )
        uvicorn.run(
            runtime.app,
            host=settings.ingest_host,
            port=settings.ingest_port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
        )
    finally:
        runtime.close()
