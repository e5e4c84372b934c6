"""Fault injection for ``POST /v1/actions``: how an outage of Sofie looks to our client.

Faults model the infrastructure in front of Sofie, so they are taken before anything else
(authentication included), and ``refuse``, ``error_500`` and ``timeout`` answer without
processing the request. ``latency`` is different: the request is processed normally and only
the *answer* is delayed. A latency longer than the client's timeout therefore gives the case
that idempotency keys exist for: Sofie accepted the action, the client never heard, and its
retry must come back as a duplicate (and retries arriving meanwhile find the first one still
in flight).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Final

from schemas.sofie_api import FaultConfig

NO_FAULT: Final = FaultConfig(mode="none")
DEFAULT_HOLD_S: Final = 30.0
_POLL_S: Final = 0.05


def take(state: FaultConfig) -> tuple[FaultConfig | None, FaultConfig]:
    """The fault for one request (``None``: no fault) and the state after it.

    ``remaining`` counts down per request; the request that uses the last one puts the state
    back to ``none``.
    """
    if state.mode == "none":
        return None, state
    if state.remaining is None:
        return state, state
    if state.remaining <= 1:
        return state, NO_FAULT
    return state, state.model_copy(update={"remaining": state.remaining - 1})


@dataclass(frozen=True)
class Refusal:
    """A faulted request's answer: status, error code and detail of the ``SofieError``."""

    status: int
    error: str
    detail: str


class FaultController:
    """The current fault, shared by every request; changes release held requests early."""

    def __init__(self, hold_s: float = DEFAULT_HOLD_S) -> None:
        self._lock = threading.Lock()
        self._state = NO_FAULT
        self._generation = 0
        self.hold_s = hold_s

    def set(self, config: FaultConfig) -> None:
        with self._lock:
            self._state = config
            self._generation += 1

    def current(self) -> FaultConfig:
        with self._lock:
            return self._state

    def take(self) -> tuple[FaultConfig | None, int]:
        """Consume one request's worth of the fault; also the generation it was taken in."""
        with self._lock:
            fault, self._state = take(self._state)
            return fault, self._generation

    def generation(self) -> int:
        with self._lock:
            return self._generation

    async def act(self, fault: FaultConfig, generation: int) -> Refusal | None:
        """Act out a fault from ``take`` before processing; ``None``: process the request
        (then ``delay_answer``)."""
        if fault.mode in ("none", "latency"):
            return None
        if fault.mode == "refuse":
            return Refusal(503, "unavailable", "injected fault: refuse")
        if fault.mode == "error_500":
            return Refusal(500, "internal_error", "injected fault: error_500")
        # timeout: hold the request (without blocking the event loop) until the fault is
        # changed or the hold time passes, then drop it unprocessed.
        hold_s = self.hold_s if fault.latency_s is None else fault.latency_s
        deadline = time.monotonic() + hold_s
        while time.monotonic() < deadline and self.generation() == generation:
            await asyncio.sleep(min(_POLL_S, max(deadline - time.monotonic(), 0.0)))
        return Refusal(504, "timeout", "injected fault: timeout; the request was not processed")


async def delay_answer(fault: FaultConfig | None) -> None:
    """The ``latency`` fault: hold a processed request's answer back."""
    if fault is not None and fault.mode == "latency":
        await asyncio.sleep(fault.latency_s or 0.0)
