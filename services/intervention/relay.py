"""The outcome relay: publishes outcomes committed in SQL to outcomes.v1, in commit order.

Handlers write outcomes and a relay row in the transaction that records their cause; this
loop publishes pending rows, waits for the broker's acks, then deletes the relay rows. A crash
in between publishes some outcomes twice (same ids; consumers dedupe), never loses one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import OperationalError

from services.intervention import metrics
from services.intervention.repository import InterventionRepository

log = logging.getLogger(__name__)

Send = Callable[[bytes, bytes], Awaitable[Awaitable[object]]]
"""Publish (key, value); the returned awaitable completes when the broker acknowledged."""


class Relay:
    def __init__(
        self, repository: InterventionRepository, send: Send, batch: int, interval_s: float
    ) -> None:
        self.repository = repository
        self.send = send
        self.batch = batch
        self.interval_s = interval_s
        self.wake = asyncio.Event()

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                published = await self.relay_once()
            except OperationalError:
                metrics.DB_RETRIES.labels(operation="relay").inc()
                log.warning("database unreachable; relay waits")
                published = 0
            if published < self.batch:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.interval_s)

    async def relay_once(self) -> int:
        pending = await asyncio.to_thread(self.repository.pending_relay, self.batch)
        metrics.RELAY_PENDING.set(len(pending))
        if not pending:
            return 0
        acks = [
            await self.send(row.subject.encode("ascii"), row.payload.encode("utf-8"))
            for _, row in pending
        ]
        await asyncio.gather(*acks)
        await asyncio.to_thread(self.repository.mark_relayed, [seq for seq, _ in pending])
        metrics.RELAYED.inc(len(pending))
        for _, row in pending:
            metrics.OUTCOMES.labels(arm=row.arm or "none", type=row.type).inc()
        return len(pending)
