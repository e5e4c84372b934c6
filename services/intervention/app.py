"""``nazorg intervention``: the Faust worker that turns detector signals into outcome records.

Walking-skeleton scope: every signal becomes a ``signal_observed`` outcome, written to SQL together
with the consumer position (one transaction) and then published to outcomes.v1. Enrolment, the
playbook and the outbox to Sofie come with the intervention issue.

Delivery is at-least-once: the outcome is published again when a signal is re-consumed (its id
is deterministic, so consumers dedupe); SQL changes nothing the second time.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import faust
from faust.types import EventT
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from schemas.codec import decode_signal, encode
from services.common.db import make_engine, upgrade
from services.common.faust_app import add_timed_agent, make_faust_app, run_faust_worker
from services.common.metrics import (
    EVENTS_CONSUMED,
    MESSAGES_PRODUCED,
    PROCESSING_ERRORS,
)
from services.common.settings import InterventionSettings
from services.intervention.observations import signal_observed
from services.intervention.repository import InterventionRepository, OutcomeRow, Position

log = logging.getLogger(__name__)
SERVICE = "intervention"


def _prepare_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)


def create_app(settings: InterventionSettings) -> faust.App:
    """The Faust app with a migrated database behind it."""
    url = settings.database_url.get_secret_value()
    _prepare_sqlite_dir(url)
    engine = make_engine(url, settings.database_schema)
    upgrade(engine)
    repository = InterventionRepository(engine)
    study_key = settings.study_key.get_secret_value()

    app = make_faust_app(
        settings.intervention_app_id,
        settings,
        web_host=settings.intervention_web_host,
        web_port=settings.intervention_web_port,
        data_dir=settings.intervention_data_dir,
        service=SERVICE,
    )
    signals_topic = app.topic(settings.topic_signals, partitions=settings.topic_partitions)
    outcomes_topic = app.topic(settings.topic_outcomes, partitions=settings.topic_partitions)

    async def handle(event: EventT[Any]) -> None:
        message = event.message
        EVENTS_CONSUMED.labels(service=SERVICE, topic=message.topic).inc()
        try:
            signal = decode_signal(event.value)
        except ValidationError as exc:
            # Signals come from our own detector; a bad one is a bug, logged without payload.
            PROCESSING_ERRORS.labels(service=SERVICE, reason="invalid_signal").inc()
            log.error(
                "invalid signal skipped",
                extra={
                    "topic": message.topic,
                    "partition": message.partition,
                    "offset": message.offset,
                    "errors": exc.error_count(),
                },
            )
            return
        outcome = signal_observed(signal, study_key)
        payload = encode(outcome)
        row = OutcomeRow(
            id=outcome.id,
            subject=outcome.subject,
            type=outcome.type,
            time=outcome.time,
            arm=None,
            payload=payload.decode("utf-8"),
        )
        position = Position(
            consumer=settings.intervention_app_id,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
        )
        await asyncio.to_thread(repository.record, position, [row])
        await outcomes_topic.send(key=outcome.subject.encode("ascii"), value=payload)
        MESSAGES_PRODUCED.labels(service=SERVICE, topic=settings.topic_outcomes).inc()

    add_timed_agent(app, signals_topic, "observe-signals", SERVICE, handle)
    return app


def run_worker(settings: InterventionSettings | None = None) -> None:
    """Run one worker until SIGTERM/SIGINT."""
    settings = settings or InterventionSettings()
    run_faust_worker(lambda: create_app(settings), settings)
