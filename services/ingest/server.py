"""``nazorg ingest``: the HTTP API (uvicorn) and the inbound consumer thread in one process.

They share one pipeline (producer, dedupe window, lock), so an event sent over HTTP and again on
the inbound topic is reported a duplicate the second time. ``IngestRuntime`` wires the parts;
``serve`` runs it in the foreground until SIGINT/SIGTERM, then stops the consumer (finishing its
batch; an unfinished one is simply not committed) and closes the producer.
"""

from __future__ import annotations

import logging

import uvicorn
from fastapi import FastAPI

from services.common.kafka import ensure_topics
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

    def alive(self) -> bool:
        return self.inbound is None or self.inbound.alive()

    def start(self) -> IngestRuntime:
        """Start the background parts (the inbound consumer); the caller serves ``app``."""
        if self.inbound is not None:
            self.inbound.start()
        return self

    def close(self) -> None:
        """Stop the consumer, then close the producer (in that order: it may be publishing)."""
        try:
            if self.inbound is not None:
                self.inbound.stop()
        finally:
            self.publisher.close()


def serve(settings: IngestSettings | None = None) -> None:
    settings = settings or IngestSettings()
    configure_logging(settings.log_level, settings.log_format)
    if not settings.ingest_api_tokens and not settings.ingest_hmac_keys:
        log.warning("no NAZORG_INGEST_API_TOKENS or NAZORG_INGEST_HMAC_KEYS: every POST gets 401")
    ensure_topics(settings)
    runtime = IngestRuntime(settings)
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
