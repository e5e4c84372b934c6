"""The dev server's memory: accepted actions by idempotency key, and its counters.

Dedupe must be exact: a retry that arrives while the first request is still in flight must
not create a second action. ``ActionStore.submit`` decides and records under one lock, in one
call, so there is no window between "not seen yet" and "recorded" for a second request to
slip through, whether the callers share an event loop or run on several threads.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from schemas.sofie_api import ReceivedAction, SofieDeliveryRequest, SofieStats

SubmitOutcome = Literal["accepted", "duplicate", "conflict"]


def fingerprint(request: SofieDeliveryRequest) -> str:
    """SHA-256 of the request's canonical JSON (sorted keys), to tell "same body" apart.

    Validated values are compared, not bytes: the same instant written with another offset,
    or the payload's keys in another order, is the same request.
    """
    canonical = json.dumps(
        request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Submission:
    """What ``submit`` decided, with the action as recorded (the original one for repeats)."""

    outcome: SubmitOutcome
    action: ReceivedAction


class ActionStore:
    """Accepted actions in memory, in acceptance order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, tuple[str, ReceivedAction]] = {}
        self._order: list[str] = []
        self._base = 0
        """Actions accepted before the last reset: ``seq`` never restarts, so a poller's
        cursor stays valid across a reset."""

    def submit(self, request: SofieDeliveryRequest, received_at: datetime) -> Submission:
        """Accept a new key, or answer a repeat: duplicate (same body) or conflict (other)."""
        digest = fingerprint(request)
        with self._lock:
            known = self._by_key.get(request.idempotency_key)
            if known is None:
                action = ReceivedAction(
                    seq=self._base + len(self._order) + 1,
                    idempotency_key=request.idempotency_key,
                    sofie_action_id=f"sfa-{uuid.uuid4().hex}",
                    client_ref=request.client_ref,
                    channel=request.channel,
                    action=request.action,
                    deliver_after=request.deliver_after,
                    received_at=received_at,
                    requests=1,
                )
                self._by_key[request.idempotency_key] = (digest, action)
                self._order.append(request.idempotency_key)
                return Submission("accepted", action)
            original_digest, original = known
            counted = original.model_copy(update={"requests": original.requests + 1})
            self._by_key[request.idempotency_key] = (original_digest, counted)
            outcome: SubmitOutcome = "duplicate" if digest == original_digest else "conflict"
            return Submission(outcome, counted)

    def received(self, since: int = 0, limit: int = 1000) -> list[ReceivedAction]:
        """Accepted actions with ``seq > since``, oldest first, at most ``limit``."""
        with self._lock:
            start = max(since - self._base, 0)
            keys = self._order[start : start + limit]
            return [self._by_key[key][1] for key in keys]

    def __len__(self) -> int:
        with self._lock:
            return len(self._order)

    def reset(self) -> None:
        with self._lock:
            self._base += len(self._order)
            self._by_key.clear()
            self._order.clear()


CounterName = Literal[
    "requests",
    "accepted",
    "duplicates",
    "conflicts",
    "unauthorized",
    "invalid",
    "faults_injected",
    "callbacks_sent",
    "callbacks_failed",
    "callbacks_pending",
]


class Counters:
    """Thread-safe counters behind ``GET /_dev/stats``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = dict.fromkeys(SofieStats.model_fields, 0)

    def add(self, name: CounterName, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    def snapshot(self) -> SofieStats:
        with self._lock:
            return SofieStats.model_validate(self._counts)

    def reset(self) -> None:
        """Zero the counters, except callbacks still in flight (they finish after a reset)."""
        with self._lock:
            pending = self._counts["callbacks_pending"]
            self._counts = dict.fromkeys(SofieStats.model_fields, 0)
            self._counts["callbacks_pending"] = pending
