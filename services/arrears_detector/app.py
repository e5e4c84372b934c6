"""``nazorg detector``: the Faust worker around the ledger core.

Per event: decode, translate, ``apply`` the core, publish the signals, store the ledger.
Signals are acknowledged by the broker *before* the ledger is written to the table, so a crash
can only repeat a signal (same deterministic id), never lose one: once the changelog says an
event was applied, its signals are already durable. End-of-day ticks close the day only for the
loans that the partition's deadline index says need it, and a per-partition watermark makes a
re-delivered tick a no-op.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
from faust.types import EventT

from schemas.codec import encode
from services.arrears_detector import shell_metrics as metrics
from services.arrears_detector.events import BusinessDayClosed
from services.arrears_detector.ledger import LedgerError
from services.arrears_detector.policy import DEFAULT_POLICY, DetectionPolicy
from services.arrears_detector.shell_partition import PartitionProcessor
from services.arrears_detector.shell_translate import (
    UndecodableEventError,
    day_closed_marker,
    decode,
    to_contract,
)
from services.arrears_detector.signals import Signal
from services.common.faust_app import add_timed_agent, make_faust_app, run_faust_worker
from services.common.metrics import (
    EVENTS_CONSUMED,
    MESSAGES_PRODUCED,
    PROCESSING_ERRORS,
)
from services.common.settings import DetectorSettings

log = logging.getLogger(__name__)
SERVICE = "detector"


class DetectorShell:
    """Faust tables and topics around the shared ``PartitionProcessor``."""

    def __init__(self, app: faust.App, settings: DetectorSettings, policy: DetectionPolicy):
        self.app = app
        self.signals_topic = app.topic(settings.topic_signals, partitions=settings.topic_partitions)
        self.topic_signals_name = settings.topic_signals
        self.partitions = settings.topic_partitions
        table_options: dict[str, Any] = {
            "default": None,
            "partitions": settings.topic_partitions,
            "schema": faust.Schema(key_serializer="json", value_serializer="json"),
        }
        self.processor = PartitionProcessor(
            ledgers=app.Table("ledgers", **table_options),
            watermarks=app.Table("tick-watermarks", **table_options),
            policy=policy,
            generation=lambda: int(getattr(app, "consumer_generation_id", None) or 0),
            on_index_rebuild=metrics.INDEX_REBUILDS.inc,
        )

    async def publish(self, signals: list[Signal], event_time: str) -> None:
        """Send signals and wait until the broker acknowledged every one."""
        pending = []
        for signal in signals:
            message = to_contract(signal, event_time)
            pending.append(
                await self.signals_topic.send(
                    key=signal.loan_id.encode("utf-8"), value=encode(message)
                )
            )
            metrics.SIGNALS.labels(type=signal.type).inc()
        if pending:
            await asyncio.gather(*pending)
            MESSAGES_PRODUCED.labels(service=SERVICE, topic=self.topic_signals_name).inc(
                len(pending)
            )

    async def publish_day_closed(self, partition: int, business_date: str, event_time: str) -> None:
        """Tell consumers that every signal of ``partition`` up to ``business_date`` is out.

        Sent after the day's signals and before the watermark is stored: a crash in between
        repeats the marker (same id), it never goes missing.
        """
        marker = day_closed_marker(partition, self.partitions, business_date, event_time)
        sent = await self.signals_topic.send(value=encode(marker), partition=partition)
        await sent
        MESSAGES_PRODUCED.labels(service=SERVICE, topic=self.topic_signals_name).inc()

    async def handle(self, event: EventT[Any]) -> None:
        message = event.message
        EVENTS_CONSUMED.labels(service=SERVICE, topic=message.topic).inc()
        try:
            domain_event, event_time = decode(event.value)
            step = self.processor.plan(message.partition, domain_event)
        except (UndecodableEventError, LedgerError) as exc:
            # Ingest validated every event; reaching here is a bug upstream or an event the
            # ledger refuses. Count and log where it is (never the payload: it may hold
            # personal data), then go on.
            reason = "invalid_event" if isinstance(exc, UndecodableEventError) else "ledger_error"
            PROCESSING_ERRORS.labels(service=SERVICE, reason=reason).inc()
            log.error(
                "payment event skipped",
                extra={
                    "reason": reason,
                    "partition": message.partition,
                    "offset": message.offset,
                    "error": str(exc),
                },
            )
            return
        if step.changes_nothing:
            metrics.DUPLICATES.inc()
            return
        await self.publish(step.signals, event_time)
        if step.watermark is not None:
            await self.publish_day_closed(message.partition, step.watermark, event_time)
        self.processor.commit(message.partition, step)
        if isinstance(domain_event, BusinessDayClosed):
            metrics.LOANS_EVALUATED.observe(step.evaluated)


def create_app(settings: DetectorSettings, policy: DetectionPolicy = DEFAULT_POLICY) -> faust.App:
    app = make_faust_app(
        settings.detector_app_id,
        settings,
        web_host=settings.detector_web_host,
        web_port=settings.detector_web_port,
        data_dir=settings.detector_data_dir,
        store=settings.detector_store,
        service=SERVICE,
    )
    shell = DetectorShell(app, settings, policy)
    events_topic = app.topic(settings.topic_payment_events, partitions=settings.topic_partitions)

    add_timed_agent(app, events_topic, "detect-arrears", SERVICE, shell.handle)
    return app


def run_worker(settings: DetectorSettings | None = None) -> None:
    """Run one worker until SIGTERM/SIGINT."""
    settings = settings or DetectorSettings()
    run_faust_worker(lambda: create_app(settings), settings)
