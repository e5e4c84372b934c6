"""Engagement callbacks: which clients engage (deterministic), and sending them to our webhook.

Whether a client engages is a pure function of (seed, idempotency key, rate), so a demo or test
run with the same seed gets the same engagement whatever the timing or request order. Sending
is asynchronous and best effort: a few tries per callback, failures logged (idempotency key
and callback id only: ``client_ref`` is personal data) and counted, never raised into a
request or the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import httpx
from pydantic import SecretStr

from schemas.actions import SofieChannel
from schemas.codec import encode
from schemas.ids import SEPARATOR, deterministic_id
from schemas.sofie_api import EngagementCallback, EngagementKind, ReceivedAction
from services.sofie_dev.store import Counters

log = logging.getLogger(__name__)

_ENGAGED_KIND: Final[dict[SofieChannel, EngagementKind]] = {
    "app": "opened",
    "email": "opened",
    "video": "opened",
    "workshop": "attended",
    "one_to_one": "attended",
}
_RETRYABLE: Final = frozenset({408, 425, 429})


def engages(seed: int, idempotency_key: str, rate: float) -> bool:
    """True for a share ``rate`` of keys, the same answer every time for (seed, key)."""
    digest = hashlib.sha256(f"{seed}{SEPARATOR}{idempotency_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def engagement_kinds(channel: SofieChannel, engaged: bool) -> tuple[EngagementKind, ...]:
    """Always ``delivered``; then ``opened`` (app/email/video) or ``attended`` (workshop,
    one-to-one) when the client engaged."""
    return ("delivered", _ENGAGED_KIND[channel]) if engaged else ("delivered",)


def callback_id(idempotency_key: str, kind: EngagementKind) -> str:
    """Deterministic, so a resent callback carries the id of the first and can be dropped."""
    return deterministic_id("sofie-callback", idempotency_key, kind)


def callbacks_for(action: ReceivedAction, seed: int, rate: float) -> tuple[EngagementCallback, ...]:
    """The callbacks an accepted action produces, in the order they are sent.

    The dev server does not wait for ``deliver_after`` in wall-clock time (the demo runs on
    simulated dates); it stamps the engagement with that instant instead.
    """
    occurred_at = action.deliver_after or action.received_at
    return tuple(
        EngagementCallback(
            callback_id=callback_id(action.idempotency_key, kind),
            idempotency_key=action.idempotency_key,
            sofie_action_id=action.sofie_action_id,
            client_ref=action.client_ref,
            channel=action.channel,
            kind=kind,
            occurred_at=occurred_at,
        )
        for kind in engagement_kinds(action.channel, engages(seed, action.idempotency_key, rate))
    )


@dataclass(frozen=True)
class CallbackTarget:
    """Where callbacks go and the bearer token they carry."""

    url: str
    token: SecretStr


def retryable_status(status: int) -> bool:
    return status in _RETRYABLE or status >= 500


class CallbackSender:
    """A queue of callback batches (one per action, sent in order) and a few workers.

    Started lazily on the event loop of the first ``submit``, so it works whether or not the
    ASGI server runs the app's lifespan; ``close`` (from the lifespan) drains and stops it.
    """

    def __init__(
        self,
        target: CallbackTarget | None,
        counters: Counters,
        *,
        attempts: int = 3,
        timeout_s: float = 5.0,
        backoff_s: float = 0.2,
        workers: int = 4,
    ) -> None:
        self.target = target
        self._counters = counters
        self._attempts = attempts
        self._timeout_s = timeout_s
        self._backoff_s = backoff_s
        self._workers = workers
        self._queue: asyncio.Queue[tuple[int, tuple[EngagementCallback, ...]]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None
        self._epoch = 0

    def submit(self, batch: Sequence[EngagementCallback]) -> None:
        """Queue one action's callbacks; call from the server's event loop."""
        if self.target is None or not batch:
            return
        queue = self._ensure_started()
        self._counters.add("callbacks_pending", len(batch))
        queue.put_nowait((self._epoch, tuple(batch)))

    def discard_queued(self) -> None:
        """Drop what is queued (``POST /_dev/reset``); a callback being sent still finishes."""
        self._epoch += 1

    async def close(self, drain_s: float = 2.0) -> None:
        """Give queued callbacks ``drain_s`` to go out, then stop the workers."""
        if self._queue is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), drain_s)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self._queue = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _ensure_started(self) -> asyncio.Queue[tuple[int, tuple[EngagementCallback, ...]]]:
        if self._queue is None:
            self._queue = asyncio.Queue()
            # trust_env=False: the webhook is configured explicitly; a proxy from the
            # environment must not capture callbacks meant for a local receiver.
            self._client = httpx.AsyncClient(
                timeout=self._timeout_s, follow_redirects=False, trust_env=False
            )
            self._tasks = [
                asyncio.create_task(self._work(self._queue), name=f"sofie-callbacks-{n}")
                for n in range(self._workers)
            ]
        return self._queue

    async def _work(self, queue: asyncio.Queue[tuple[int, tuple[EngagementCallback, ...]]]) -> None:
        while True:
            epoch, batch = await queue.get()
            try:
                for callback in batch:
                    if epoch == self._epoch:
                        sent = await self._send(callback)
                        self._counters.add("callbacks_sent" if sent else "callbacks_failed")
                    self._counters.add("callbacks_pending", -1)
            finally:
                queue.task_done()

    async def _send(self, callback: EngagementCallback) -> bool:
        """Post one callback with retries; True once the receiver answered 2xx. Never raises."""
        assert self.target is not None
        assert self._client is not None
        body = encode(callback)
        headers = {
            "Authorization": f"Bearer {self.target.token.get_secret_value()}",
            "Content-Type": "application/json",
        }
        reason = "not_tried"
        for attempt in range(self._attempts):
            if attempt:
                await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
            try:
                answer = await self._client.post(self.target.url, content=body, headers=headers)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a network problem or a bug: log it, never crash
                reason = type(exc).__name__
                continue
            if 200 <= answer.status_code < 300:
                return True
            reason = f"http_{answer.status_code}"
            if not retryable_status(answer.status_code):
                break
        log.warning(
            "engagement callback failed",
            extra={
                "idempotency_key": callback.idempotency_key,
                "callback_id": callback.callback_id,
                "kind": callback.kind,
                "reason": reason,
            },
        )
        return False
