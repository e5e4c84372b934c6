"""The outbox dispatcher: delivers planned actions to Sofie, each exactly once.

At-least-once sending plus Sofie's dedupe by idempotency key (the action id) is exactly-once
delivery: a row is marked delivered only after Sofie said ``accepted`` or ``duplicate``, so a
crash anywhere before that sends the same key again and Sofie answers ``duplicate``. Failures
back off exponentially with full jitter; a run of failures opens the circuit breaker, which
pauses all sending; an action that keeps failing is parked after ``max_attempts`` and shows in
the metrics. The retry and breaker rules are pure (``delivery_policy``); this is the shell.

A claimed batch is delivered ``concurrency`` actions at a time, each on a thread of the
dispatcher's own pool (one at a time, nearly all waiting, capped the pilot at ~20 actions/s),
and how every attempt of the batch ended is recorded in one transaction (one per attempt
queued each of them behind the signal batches for SQLite's write lock). Neither changes
exactly-once: each row is still marked only after Sofie's answer, and the breaker is
consulted before every attempt (in flight when it opens: at most ``concurrency`` more tries).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError

from schemas.sofie_api import SofieDeliveryRequest
from services.intervention import delivery_policy as policy
from services.intervention import metrics
from services.intervention.handlers import outcome_row
from services.intervention.outcome_events import action_sent
from services.intervention.repository import (
    DecisionRow,
    Delivered,
    InterventionRepository,
    OutboxRow,
    Parked,
    Retry,
    Settlement,
)
from services.intervention.sofie_client import DeliveryResult, SofieClient

log = logging.getLogger(__name__)
T = TypeVar("T")

AUTH_FAILURES = frozenset({401, 403})
"""A refused token is our configuration, not the action: retry (and trip the breaker) so the
actions go out once the token is fixed, instead of parking every one of them."""


class Dispatcher:
    """One loop per worker; several workers may share the outbox (claims are leased)."""

    def __init__(
        self,
        repository: InterventionRepository,
        client: SofieClient,
        study_key: str,
        *,
        retry: policy.RetryPolicy,
        breaker: policy.BreakerConfig,
        batch: int,
        lease_s: float,
        interval_s: float,
        concurrency: int = 8,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.repository = repository
        self.client = client
        self.study_key = study_key
        self.retry = retry
        self.breaker_config = breaker
        self.breaker = policy.Breaker()
        self.batch = batch
        self.lease_s = lease_s
        self.interval_s = interval_s
        self.clock = clock
        self.rand = rand
        self.concurrency = concurrency
        # Its own threads: the loop's default pool (cpu + 4 threads) is shared with the agents.
        self._pool = ThreadPoolExecutor(concurrency + 1, thread_name_prefix="dispatch")

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(function, *args))

    async def run(self, stopping: asyncio.Event) -> None:
        """Deliver until ``stopping`` is set; a database outage pauses, never ends, the loop."""
        try:
            await self._run(stopping)
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)

    async def _run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                sent = await self.dispatch_once()
                await self._call(self.update_gauges)
            except OperationalError:
                metrics.DB_RETRIES.labels(operation="dispatch").inc()
                log.warning("database unreachable; dispatcher waits")
                sent = 0
            if not sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), self.interval_s)

    async def dispatch_once(self) -> int:
        """Claim the due rows, try each once, then record how all of them ended in one
        transaction; returns how many were attempted.

        A row is still marked only after Sofie's answer; a crash before the batch is recorded
        sends its rows again when their leases end, and Sofie answers ``duplicate``. A
        database error is raised as itself, so ``run`` pauses as for any outage."""
        rows = await self._call(self.repository.claim_due, self.clock(), self.batch, self.lease_s)
        gate = asyncio.Semaphore(self.concurrency)

        async def one(row: OutboxRow) -> tuple[OutboxRow, DeliveryResult | None]:
            async with gate:
                allowed, self.breaker = policy.allow(
                    self.breaker_config, self.breaker, time.monotonic()
                )
                metrics.BREAKER_OPEN.set(1 if self.breaker.state == "open" else 0)
                if not allowed:
                    return row, None
                return row, await self._attempt(row)

        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(row)) for row in rows]
        answers = [task.result() for task in tasks]
        if answers:
            await self._call(self._settle, answers)
        return sum(result is not None for _, result in answers)

    def update_gauges(self) -> None:
        stats = self.repository.outbox_stats()
        metrics.OUTBOX_PENDING.set(stats.pending)
        metrics.OUTBOX_PARKED.set(stats.parked)
        oldest = stats.oldest_pending_created_at
        age = (self.clock() - oldest).total_seconds() if oldest is not None else 0.0
        metrics.OUTBOX_OLDEST_AGE.set(max(age, 0.0))

    async def _attempt(self, row: OutboxRow) -> DeliveryResult:
        request = SofieDeliveryRequest.model_validate_json(row.request_json)
        result: DeliveryResult = await self._call(self.client.deliver, request)
        metrics.SOFIE_SECONDS.labels(outcome=result.outcome).observe(result.elapsed_s)
        metrics.DELIVERIES.labels(channel=request.channel, outcome=result.outcome).inc()
        if result.outcome in ("delivered", "duplicate"):
            self.breaker = policy.on_success(self.breaker)
        elif self._retryable(result):
            self.breaker = policy.on_failure(self.breaker_config, self.breaker, time.monotonic())
        metrics.BREAKER_OPEN.set(1 if self.breaker.state == "open" else 0)
        return result

    @staticmethod
    def _retryable(result: DeliveryResult) -> bool:
        return result.outcome == "retryable" or result.status_code in AUTH_FAILURES

    def _settle(self, answers: list[tuple[OutboxRow, DeliveryResult | None]]) -> None:
        """Record every attempt of a batch (None: held back by the open breaker)."""
        delivered = [row.action_id for row, r in answers if r is not None and self._sent(r)]
        decisions = self.repository.decisions_by_action(delivered)
        now = self.clock()
        settlements = [self._settlement(row, result, decisions, now) for row, result in answers]
        self.repository.settle(settlements)

    @staticmethod
    def _sent(result: DeliveryResult) -> bool:
        return result.outcome in ("delivered", "duplicate")

    def _settlement(
        self,
        row: OutboxRow,
        result: DeliveryResult | None,
        decisions: dict[str, DecisionRow],
        now: datetime,
    ) -> Settlement:
        if result is None:
            # Not an attempt: the breaker is open, so the row waits without using up its tries.
            metrics.DELIVERIES.labels(channel="all", outcome="circuit_open").inc()
            next_at = now + timedelta(seconds=self.breaker_config.reset_after_s)
            return Retry(row.action_id, row.attempts, next_at, "circuit_open")
        if self._sent(result):
            decision = decisions.get(row.action_id)
            if decision is None:  # pragma: no cover - the outbox row references its decision
                raise LookupError(f"outbox row {row.action_id} has no decision")
            outcome = outcome_row(action_sent(decision, self.study_key), decision.arm)
            return Delivered(row.action_id, result.sofie_action_id or "", now, (outcome,))
        attempts = row.attempts + 1
        error = result.error or result.outcome
        if not self._retryable(result) or policy.should_park(self.retry, attempts):
            metrics.PARKED.labels(channel=self._channel(row)).inc()
            log.error(
                "action parked",
                extra={"action_id": row.action_id, "attempts": attempts, "error": error},
            )
            return Parked(row.action_id, attempts, error)
        delay = policy.backoff_s(self.retry, attempts, self.rand())
        return Retry(row.action_id, attempts, now + timedelta(seconds=delay), error)

    @staticmethod
    def _channel(row: OutboxRow) -> str:
        return SofieDeliveryRequest.model_validate_json(row.request_json).channel
