"""``nazorg intervention``: the Faust worker around the intervention core.

Agents consume enrolments, contact preferences and the detector's signals (with its
day-closed markers); each message's effects are committed in one SQL transaction together with
its consumer position, so a re-consumed message changes nothing. Signals and enrolments come
in batches (``NAZORG_INTERVENTION_SIGNAL_BATCH``, ``NAZORG_INTERVENTION_ENROLMENT_BATCH``): the
detector reports on the whole portfolio, and one transaction per message made the commit and
SQLite's write lock the bottleneck; a batch is one transaction in which every message still
claims its own position (``InterventionRepository.run_batch``, decision 0203). Two
background tasks move data out: the dispatcher delivers planned actions to Sofie from the
outbox, the relay publishes committed outcomes to outcomes.v1. Sofie's engagement callbacks
arrive on a web endpoint.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import faust
from faust.types import EventT
from faust.web import Request, Response, View
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from schemas.codec import decode_enrolment, decode_preference, decode_signals_message, encode
from schemas.enrolments import Enrolment
from schemas.signals import DayClosed, SignalsMessage
from schemas.sofie_api import EngagementCallback
from services.common.db import make_engine, upgrade
from services.common.faust_app import (
    add_batch_agent,
    add_timed_agent,
    make_faust_app,
    run_faust_worker,
)
from services.common.metrics import (
    EVENTS_CONSUMED,
    MESSAGES_PRODUCED,
    PROCESSING_ERRORS,
)
from services.common.settings import InterventionSettings
from services.intervention import delivery_policy, handlers, metrics, srm_monitor
from services.intervention.contact_policy import ContactPolicyConfig
from services.intervention.deadletter import dead_letter
from services.intervention.dispatcher import Dispatcher
from services.intervention.playbook import load_playbook
from services.intervention.relay import Relay
from services.intervention.repository import InterventionRepository, Position, Tx
from services.intervention.sofie_client import SofieClient, verify_callback_token

log = logging.getLogger(__name__)
SERVICE = "intervention"
T = TypeVar("T")
M = TypeVar("M")
DB_RETRY_CAP_S = 5.0


def _prepare_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)


def make_context(settings: InterventionSettings) -> handlers.Context:
    playbook_path = Path(settings.playbook_path) if settings.playbook_path else None
    return handlers.Context(
        experiment_key=settings.experiment_key,
        treatment_share=settings.treatment_share,
        study_key=settings.study_key.get_secret_value(),
        playbook=load_playbook(playbook_path),
        contact_policy=ContactPolicyConfig(),
        followup_days=settings.followup_days,
        pilot_end_date=settings.pilot_end_date,
    )


async def retry_db(operation: str, work: Callable[[], T]) -> T:
    """Run ``work`` in a thread until it commits; an outage pauses the input."""
    delay = 0.2
    while True:
        try:
            return await asyncio.to_thread(work)
        except OperationalError as exc:
            # An outage, or a transaction PostgreSQL aborted (deadlock, serialisation): the
            # whole transaction rolled back, so running it again is safe.
            metrics.DB_RETRIES.labels(operation=operation).inc()
            log.warning(
                "database error; retrying",
                extra={"operation": operation, "error": type(exc.orig).__name__},
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, DB_RETRY_CAP_S)


class InterventionShell:
    """Topics, agents, tasks and the webhook around the handlers."""

    def __init__(self, app: faust.App, settings: InterventionSettings) -> None:
        self.app = app
        self.settings = settings
        url = settings.database_url.get_secret_value()
        _prepare_sqlite_dir(url)
        engine = make_engine(url, settings.database_schema)
        upgrade(engine)
        self.repository = InterventionRepository(engine)
        self.context = make_context(settings)
        partitions = settings.topic_partitions
        self.dlq_topic = app.topic(settings.topic_dlq, partitions=partitions)
        self._outcomes_produced = MESSAGES_PRODUCED.labels(
            service=SERVICE, topic=settings.topic_outcomes
        )
        self.relay = Relay(self.repository, self._send_outcome, 500, settings.relay_interval_s)
        self.client = SofieClient(
            settings.sofie_url, settings.sofie_token, timeout_s=settings.sofie_timeout_s
        )
        self.dispatcher = Dispatcher(
            self.repository,
            self.client,
            self.context.study_key,
            retry=delivery_policy.RetryPolicy(
                base_s=settings.dispatch_backoff_base_s,
                cap_s=settings.dispatch_backoff_cap_s,
                max_attempts=settings.dispatch_max_attempts,
            ),
            breaker=delivery_policy.BreakerConfig(
                failure_threshold=settings.breaker_failure_threshold,
                reset_after_s=settings.breaker_reset_s,
            ),
            batch=settings.dispatch_batch,
            lease_s=settings.dispatch_lease_s,
            interval_s=settings.dispatch_interval_s,
            concurrency=settings.dispatch_concurrency,
        )
        self.stopping = asyncio.Event()
        preferences = app.topic(settings.topic_preferences, partitions=partitions)
        add_timed_agent(app, preferences, "contact-preferences", SERVICE, self.handle_preference)
        self._add_batch_agent(
            app.topic(settings.topic_enrolments, partitions=partitions),
            "enrol-clients",
            self.handle_enrolments,
            settings.intervention_enrolment_batch,
        )
        self._add_batch_agent(
            app.topic(settings.topic_signals, partitions=partitions),
            "act-on-signals",
            self.handle_signals,
            settings.intervention_signal_batch,
        )
        app.task(self._dispatch_task)
        app.task(self._relay_task)
        app.task(self._srm_task)
        self._add_webhook()

    async def _send_outcome(self, key: bytes, value: bytes) -> Any:
        """Hand one outcome (bytes already) to Faust's producer; the ack to await.

        ``ProducerT.send`` rather than ``Topic.send``: the same aiokafka producer and
        partitioner without the per-record future, sensors and serializer lookup, which were
        a tenth of the intervention's CPU in a 2,000-loan year (the detector does the same,
        ``shell_send``).
        """
        producer = await self.app.maybe_start_producer()
        ack = await producer.send(self.settings.topic_outcomes, key, value, None, None, None)
        self._outcomes_produced.inc()
        return ack

    async def _dispatch_task(self) -> None:
        await self.dispatcher.run(self.stopping)

    async def _relay_task(self) -> None:
        await self.relay.run(self.stopping)

    async def _srm_task(self) -> None:
        settings = self.settings
        await srm_monitor.run(
            self.repository,
            settings.experiment_key,
            settings.srm_alpha,
            settings.srm_interval_s,
            self.stopping,
        )

    def _position(self, event: EventT[Any]) -> Position:
        message = event.message
        return Position(
            consumer=self.settings.intervention_app_id,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
        )

    async def _apply(self, event: EventT[Any], work: Callable[[Tx], object]) -> None:
        position = self._position(event)
        await retry_db(position.topic, lambda: self.repository.run(position, work))
        self.relay.wake.set()

    async def _invalid(self, event: EventT[Any], reason: str, exc: ValidationError) -> None:
        """Dead-letter a message that fits no contract, then go on (never the payload in logs:
        it may hold personal data; the dead letter keeps it for whoever fixes it)."""
        message = event.message
        raw = event.value if isinstance(event.value, bytes) else str(event.value).encode()
        letter = dead_letter(
            raw,
            exc,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            received_at=datetime.now(UTC),
        )
        sent = await self.dlq_topic.send(value=encode(letter))
        await sent  # acknowledged before the offset can be committed
        PROCESSING_ERRORS.labels(service=SERVICE, reason=reason).inc()
        MESSAGES_PRODUCED.labels(service=SERVICE, topic=self.settings.topic_dlq).inc()
        log.error(
            "invalid message dead-lettered",
            extra={
                "reason": reason,
                "topic": message.topic,
                "partition": message.partition,
                "offset": message.offset,
                "errors": exc.error_count(),
            },
        )

    async def _consume(
        self,
        event: EventT[Any],
        decode: Callable[[bytes], M],
        reason: str,
        handle: Callable[[Tx, M], object],
    ) -> None:
        """Decode one message (dead-letter it when it fits no contract) and apply it."""
        EVENTS_CONSUMED.labels(service=SERVICE, topic=event.message.topic).inc()
        try:
            message = decode(event.value)
        except ValidationError as exc:
            await self._invalid(event, reason, exc)
            return
        await self._apply(event, lambda tx: handle(tx, message))

    async def handle_enrolments(self, events: Sequence[EventT[Any]]) -> None:
        """Dead-letter what fits no contract, then enrol the rest in one transaction.

        One transaction per enrolment made a pilot's enrolments queue one by one behind the
        portfolio's signal batches for the SQL write lock: in a 2,000-loan year the last of
        428 enrolments was stored minutes after the last signal.
        """
        items = await self._decoded(events, decode_enrolment, "invalid_enrolment")
        if items:
            await retry_db(
                "enrolments", lambda: self.repository.run_batch(items, self._on_enrolments)
            )
            self.relay.wake.set()

    def _on_enrolments(self, tx: Tx, messages: list[Enrolment]) -> object:
        return handlers.on_enrolments(tx, messages, self.context)

    async def handle_preference(self, event: EventT[Any]) -> None:
        await self._consume(event, decode_preference, "invalid_preference", handlers.on_preference)

    def _add_batch_agent(
        self,
        topic: faust.TopicT,
        name: str,
        handle_batch: Callable[[Sequence[EventT[Any]]], Awaitable[None]],
        max_events: int,
    ) -> None:
        """``topic`` in batches of up to ``max_events``, acked once stored."""

        async def handle(events: Sequence[EventT[Any]]) -> Awaitable[None]:
            await handle_batch(events)
            return asyncio.sleep(0)  # stored: the batch may be acked

        add_batch_agent(
            self.app,
            topic,
            name,
            SERVICE,
            handle,
            max_events=max_events,
            within_s=self.settings.intervention_signal_batch_within_s,
        )

    async def _decoded(
        self, events: Sequence[EventT[Any]], decode: Callable[[bytes], M], reason: str
    ) -> list[tuple[Position, M]]:
        """The events that fit their contract, decoded, with their positions; the others are
        dead-lettered."""
        items: list[tuple[Position, M]] = []
        for event in events:
            EVENTS_CONSUMED.labels(service=SERVICE, topic=event.message.topic).inc()
            try:
                message = decode(event.value)
            except ValidationError as exc:
                await self._invalid(event, reason, exc)
                continue
            items.append((self._position(event), message))
        return items

    async def handle_signals(self, events: Sequence[EventT[Any]]) -> None:
        """Dead-letter what fits no contract, then store the rest in one transaction."""
        items = await self._decoded(events, decode_signals_message, "invalid_signal")
        if items:
            # A marker's handler takes the watermark lock; taken before the batch's client
            # locks and row writes, no two batches can wait on each other through it.
            has_marker = any(isinstance(message, DayClosed) for _, message in items)
            prelude = Tx.lock_watermarks if has_marker else None
            await retry_db(
                "signals", lambda: self.repository.run_batch(items, self._on_signals, prelude)
            )
            self.relay.wake.set()

    def _on_signals(self, tx: Tx, messages: list[SignalsMessage]) -> object:
        return handlers.on_signal_messages(tx, messages, self.context)

    def _add_webhook(self) -> None:
        shell = self

        @self.app.page("/v1/sofie/engagements")
        class Engagements(View):
            """Sofie's engagement callbacks (app opened, workshop attended, ...)."""

            async def post(self, request: Request) -> Response:
                header = request.headers.get("Authorization")
                if not verify_callback_token(header, shell.settings.sofie_callback_token):
                    metrics.ENGAGEMENTS.labels(result="rejected").inc()
                    return self.json({"error": "unauthorized"}, status=401)
                body = await request.read()
                try:
                    callback = EngagementCallback.model_validate_json(body)
                except ValidationError as exc:
                    metrics.ENGAGEMENTS.labels(result="rejected").inc()
                    errors = [
                        {"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]}
                        for e in exc.errors(include_input=False)[:20]
                    ]
                    return self.json({"error": "invalid_callback", "fields": errors}, status=422)
                try:
                    _, new = await asyncio.to_thread(
                        shell.repository.run,
                        None,
                        lambda tx: handlers.on_engagement(tx, callback, shell.context),
                    )
                except OperationalError:
                    return self.json({"error": "unavailable"}, status=503)
                shell.relay.wake.set()
                metrics.ENGAGEMENTS.labels(result="recorded" if new else "duplicate").inc()
                return self.json({"status": "recorded" if new else "duplicate"}, status=202)


def create_app(settings: InterventionSettings) -> faust.App:
    """The Faust app with a migrated database behind it."""
    app = make_faust_app(
        settings.intervention_app_id,
        settings,
        web_host=settings.intervention_web_host,
        web_port=settings.intervention_web_port,
        data_dir=settings.intervention_data_dir,
        service=SERVICE,
    )
    InterventionShell(app, settings)
    # Faust configures logging itself; httpx would log every Sofie request at INFO.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return app


def run_worker(settings: InterventionSettings | None = None) -> None:
    """Run one worker until SIGTERM/SIGINT."""
    settings = settings or InterventionSettings()
    run_faust_worker(lambda: create_app(settings), settings)


__all__ = ["create_app", "run_worker"]
