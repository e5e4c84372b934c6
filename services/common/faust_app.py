"""A Faust application configured from our settings, with /healthz, /readyz and /metrics.

Faust stays at the edge: agents call the pure core; nothing of ours needs Faust to be tested.
Processing is at-least-once (no ``exactly_once``: Tansu lacks transactions and Faust's
exactly-once is known to produce duplicates), so every agent must be idempotent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, cast

import faust
from faust.sensors.prometheus import setup_prometheus_sensors
from faust.types import EventT
from faust.web import Request, Response, View

from services.common.faust_sensors import LeanPrometheusMonitor
from services.common.fetch_wait import limit_fetch_wait
from services.common.gc_tuning import tune_gc
from services.common.group_rejoin import keep_group_membership
from services.common.lag import monitor_faust_group
from services.common.logging import configure_logging
from services.common.metrics import LAST_EVENT, PROCESSING_SECONDS, READY
from services.common.recovery_ends import read_changelog_ends_by_fetch
from services.common.settings import CommonSettings


def make_faust_app(
    app_id: str,
    settings: CommonSettings,
    *,
    web_host: str,
    web_port: int,
    data_dir: str,
    store: str = "memory://",
    service: str,
) -> faust.App:
    """Build the Faust app; topics, tables and agents are added by the service module."""
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    app = faust.App(
        app_id,
        broker=[f"kafka://{server}" for server in settings.bootstrap_list],
        store=store,
        datadir=data_dir,
        autodiscover=False,
        web_enabled=True,
        web_host=web_host,
        web_port=web_port,
        web_bind=web_host,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        topic_allow_declare=settings.create_topics,
        broker_session_timeout=settings.consumer_session_timeout_s,
        broker_heartbeat_interval=settings.consumer_heartbeat_interval_s,
        broker_max_poll_interval=settings.consumer_max_poll_interval_s,
        stream_processing_timeout=settings.faust_stall_log_after_s,
        broker_commit_livelock_soft_timeout=settings.faust_stall_log_after_s,
        producer_acks=-1,
        key_serializer="raw",
        value_serializer="raw",
        processing_guarantee="at_least_once",
        table_cleanup_interval=300.0,
    )
    keep_group_membership(app)  # see decision 0007: evictions under load, no rejoin
    if settings.kafka_end_offsets_from_fetch:
        read_changelog_ends_by_fetch(app, settings.bootstrap_list)
    if settings.kafka_fetch_max_wait_ms is not None:
        limit_fetch_wait(app, settings.kafka_fetch_max_wait_ms)
    setup_prometheus_sensors(app, name_prefix="nazorg_faust")
    app.monitor = LeanPrometheusMonitor(metrics=cast(Any, app.monitor)._metrics)
    monitor_faust_group(app, settings)
    _add_health_pages(app, service)
    return app


def _add_health_pages(app: faust.App, service: str) -> None:
    @app.page("/healthz")
    async def healthz(self: View, request: Request) -> Response:
        return self.json({"status": "ok"})

    @app.page("/readyz")
    async def readyz(self: View, request: Request) -> Response:
        ready = is_ready(app)
        READY.labels(service=service).set(1 if ready else 0)
        body: dict[str, Any] = {"ready": ready, "rebalancing": bool(app.rebalancing)}
        return self.json(body, status=200 if ready else 503)


def is_ready(app: faust.App) -> bool:
    """Ready once the worker has joined its group and recovered its tables."""
    # Set by the Kafka driver on the first assignment; generation 0 is a valid first generation.
    if app.rebalancing or getattr(app, "consumer_generation_id", None) is None:
        return False
    recovery: Any = getattr(app.tables, "recovery", None)
    return recovery is not None and bool(recovery.completed.is_set())


def add_timed_agent(
    app: faust.App,
    topic: faust.TopicT,
    name: str,
    service: str,
    handle: Callable[[EventT[Any]], Awaitable[None]],
) -> None:
    """An agent that feeds every event of ``topic`` to ``handle`` and times it."""

    last_event = LAST_EVENT.labels(service=service, input=topic.get_topic_name())

    @app.agent(topic, name=name)
    async def agent(stream: faust.StreamT[Any]) -> AsyncIterator[None]:
        async for event in stream.events():
            last_event.set_to_current_time()
            started = time.perf_counter()
            await handle(event)
            PROCESSING_SECONDS.labels(service=service).observe(time.perf_counter() - started)
            yield None


def add_batch_agent(
    app: faust.App,
    topic: faust.TopicT,
    name: str,
    service: str,
    handle_batch: Callable[[Sequence[EventT[Any]]], Awaitable[Awaitable[None]]],
    *,
    max_events: int,
    within_s: float,
) -> None:
    """An agent that feeds ``topic`` to ``handle_batch`` in batches of up to ``max_events``.

    ``handle_batch`` returns once the batch is planned, with an awaitable that completes when
    the batch's writes are all acknowledged; only then are the batch's events acked (so their
    offsets can be committed). Meanwhile the next batch is taken and planned: at most two
    batches are outstanding. ``Stream.noack_take`` is used because it never acks by itself
    (``take``/``take_events`` ack a batch when the next one is asked for, which would be
    too early here). Each event of a batch is observed with the batch's processing time.
    """

    last_event = LAST_EVENT.labels(service=service, input=topic.get_topic_name())
    processing = PROCESSING_SECONDS.labels(service=service)

    async def ack_when_done(
        stream: faust.StreamT[Any],
        events: Sequence[EventT[Any]],
        done: Awaitable[None],
        started: float,
    ) -> None:
        try:
            await done
        except BaseException as exc:
            # Nothing of the batch is acked: it is consumed again after the restart.
            await stream.crash(exc)
            raise
        elapsed = time.perf_counter() - started
        for event in events:
            await stream.ack(event)
        observe = processing.observe
        for _ in events:
            observe(elapsed)

    @app.agent(topic, name=name)
    async def agent(stream: faust.StreamT[Any]) -> AsyncIterator[None]:
        previous: asyncio.Task[None] | None = None
        # ``StreamT`` does not declare ``noack_take``; the ``Stream`` Faust passes does.
        taking = cast("faust.Stream[Any]", stream).noack_take(max_events, within=within_s)
        try:
            async for batch in taking:
                events = cast(Sequence[EventT[Any]], batch)
                last_event.set_to_current_time()
                started = time.perf_counter()
                done = await handle_batch(events)
                current = asyncio.ensure_future(ack_when_done(stream, events, done, started))
                if previous is not None:
                    await previous
                previous = current
                yield None
        finally:
            if previous is not None:
                # Let the last batch finish (or raise its error) before the agent ends.
                await asyncio.shield(previous)


class NazorgWorker(faust.Worker):
    """A Faust worker that keeps nazorg's logging.

    mode's worker replaces the root handlers with its own coloured handler, and at WARNING or
    above Faust's terminal spinner sets the root logger to DEBUG so that it can spin on every
    record. Every debug call in Faust and aiokafka then built a log record only for the
    handler to drop it (~90 µs per produced message in the detector) and the logs were no
    longer JSON. After mode's set-up, ours is applied again and the spinner is off.
    """

    def __init__(self, app: faust.App, *, log_level: str, log_format: str) -> None:
        self._log_level = log_level.upper()
        self._log_format = log_format
        super().__init__(app, loglevel=log_level.lower(), quiet=True)

    def on_setup_root_logger(self, logger: Any, level: int) -> None:
        self.spinner = None
        configure_logging(self._log_level, self._log_format)


def run_faust_worker(app_factory: Callable[[], faust.App], settings: CommonSettings) -> None:
    """Configure logging, build the app and run one worker until SIGTERM/SIGINT."""
    configure_logging(settings.log_level, settings.log_format)
    worker = NazorgWorker(
        app_factory(), log_level=settings.log_level, log_format=settings.log_format
    )
    tune_gc()
    worker.execute_from_commandline()
