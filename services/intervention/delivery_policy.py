"""When to retry a delivery to Sofie, and when to stop calling it: pure rules.

The outbox calls Sofie at least once per action (the action id is Sofie's idempotency
key, so a retry never doubles a contact). Retries back off with full jitter so that many
workers do not retry in lock-step; a circuit breaker stops hammering a Sofie that is down
and probes it with one trial call after a pause. Time is monotonic seconds passed in by
the caller and randomness is passed in too, so every rule is testable without sleeping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 0.5
    cap_s: float = 60.0
    max_attempts: int = 8
    """After this many failed attempts the action is parked for a human."""

    def __post_init__(self) -> None:
        if not (0 < self.base_s <= self.cap_s) or not math.isfinite(self.cap_s):
            raise ValueError("need 0 < base_s <= cap_s < inf")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")


def backoff_s(policy: RetryPolicy, attempt: int, rand: float) -> float:
    """Seconds to wait before retrying after failed attempt number ``attempt`` (1-based).

    Full jitter: ``rand * min(cap, base * 2**(attempt - 1))`` with ``rand`` uniform in
    [0, 1) from the caller.
    """
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    if not 0 <= rand < 1:
        raise ValueError("rand must lie in [0, 1)")
    # base * 2**(attempt - 1) overflows a float for large attempts; well past the cap
    # (one doubling of slack for rounding in log2) the ceiling is the cap anyway.
    if attempt - 1 > math.log2(policy.cap_s / policy.base_s) + 1:
        ceiling = policy.cap_s
    else:
        ceiling = min(policy.cap_s, math.ldexp(policy.base_s, attempt - 1))
    return rand * ceiling


def should_park(policy: RetryPolicy, attempts: int) -> bool:
    """True once ``attempts`` failed attempts exhaust the policy: stop retrying."""
    return attempts >= policy.max_attempts


@dataclass(frozen=True)
class BreakerConfig:
    failure_threshold: int = 5
    """Consecutive failures that open the breaker."""
    reset_after_s: float = 10.0
    """How long an open breaker refuses calls before it lets one trial through."""

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or not self.reset_after_s > 0:
            raise ValueError("need failure_threshold >= 1 and reset_after_s > 0")


@dataclass(frozen=True)
class Breaker:
    """Circuit breaker state. ``opened_at``: when it entered ``open`` or ``half_open``."""

    state: Literal["closed", "open", "half_open"] = "closed"
    failures: int = 0
    """Consecutive failures since the last success."""
    opened_at: float | None = None


def allow(config: BreakerConfig, breaker: Breaker, now: float) -> tuple[bool, Breaker]:
    """May a call go out at ``now``? Returns the answer and the breaker to keep.

    Open: refused until ``reset_after_s`` have passed, then one trial call is let through
    (half-open). Half-open: further calls wait for the trial's result; a trial whose
    result never comes (a crashed worker) is replaced after another ``reset_after_s``.
    """
    if breaker.state == "closed":
        return True, breaker
    since = breaker.opened_at if breaker.opened_at is not None else now
    if now - since >= config.reset_after_s:
        return True, replace(breaker, state="half_open", opened_at=now)
    return False, breaker


def on_success(breaker: Breaker) -> Breaker:
    """A call succeeded: Sofie is reachable, close the breaker."""
    return Breaker()


def on_failure(config: BreakerConfig, breaker: Breaker, now: float) -> Breaker:
    """A call failed: count it; open at the threshold, or again after a failed trial."""
    failures = breaker.failures + 1
    if breaker.state == "half_open" or (
        breaker.state == "closed" and failures >= config.failure_threshold
    ):
        return Breaker("open", failures, now)
    # Closed below the threshold, or a late failure of a call made before it opened:
    # the latter must not extend the pause.
    return replace(breaker, failures=failures)
