"""``nazorg ingest``: the HTTP API served by uvicorn, with the producer's lifetime around it."""

from __future__ import annotations

import logging

import uvicorn

from services.common.kafka import ensure_topics
from services.common.logging import configure_logging
from services.common.settings import IngestSettings
from services.ingest.api import create_app
from services.ingest.publisher import Publisher

log = logging.getLogger(__name__)


def serve(settings: IngestSettings | None = None) -> None:
    settings = settings or IngestSettings()
    configure_logging(settings.log_level, settings.log_format)
    ensure_topics(settings)
    publisher = Publisher(settings)
    try:
        app = create_app(settings, publisher)
        log.info(
            "ingest listening",
            extra={"host": settings.ingest_host, "port": settings.ingest_port},
        )
        uvicorn.run(
            app,
            host=settings.ingest_host,
            port=settings.ingest_port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
        )
    finally:
        publisher.close()
