"""Retry backoff with full jitter and the circuit breaker state machine."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from services.intervention.delivery_policy import (
    Breaker,
    BreakerConfig,
    RetryPolicy,
    allow,
    backoff_s,
    on_failure,
    on_success,
    should_park,
)

POLICY = RetryPolicy()
CONFIG = BreakerConfig()


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [(1, 0.5), (2, 1.0), (3, 2.0), (7, 32.0), (8, 60.0), (40, 60.0), (5000, 60.0)],
)
def test_backoff_doubles_up_to_the_cap(attempt: int, ceiling: float) -> None:
    assert backoff_s(POLICY, attempt, 0.0) == 0.0
    assert backoff_s(POLICY, attempt, 0.5) == pytest.approx(ceiling / 2)
    assert backoff_s(POLICY, attempt, 0.999999) == pytest.approx(ceiling, rel=1e-5)


@given(attempt=st.integers(min_value=1, max_value=2000), rand=st.floats(0, 1, exclude_max=True))
def test_backoff_stays_within_full_jitter_bounds(attempt: int, rand: float) -> None:
    wait = backoff_s(POLICY, attempt, rand)
    assert 0 <= wait <= min(POLICY.cap_s, POLICY.base_s * 2.0 ** min(attempt - 1, 100))


@pytest.mark.parametrize(("attempt", "rand"), [(0, 0.5), (1, 1.0), (1, -0.1)])
def test_backoff_refuses_bad_input(attempt: int, rand: float) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - two distinct messages
        backoff_s(POLICY, attempt, rand)


def test_policies_are_validated() -> None:
    with pytest.raises(ValueError, match="base_s"):
        RetryPolicy(base_s=2.0, cap_s=1.0)
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="failure_threshold"):
        BreakerConfig(failure_threshold=0)


def test_park_after_max_attempts() -> None:
    assert not should_park(POLICY, 7)
    assert should_park(POLICY, 8)
    assert should_park(POLICY, 9)


def test_breaker_lifecycle() -> None:
    breaker = Breaker()
    for i in range(4):
        breaker = on_failure(CONFIG, breaker, float(i))
        assert breaker.state == "closed"
    breaker = on_failure(CONFIG, breaker, 4.0)
    assert breaker == Breaker("open", 5, 4.0)
    assert allow(CONFIG, breaker, 13.999) == (False, breaker)
    allowed, trial = allow(CONFIG, breaker, 14.0)
    assert allowed
    assert trial.state == "half_open"
    # Only one trial at a time.
    assert allow(CONFIG, trial, 15.0) == (False, trial)
    # A failed trial opens again, counting the pause from the failure.
    reopened = on_failure(CONFIG, trial, 15.0)
    assert reopened == Breaker("open", 6, 15.0)
    assert not allow(CONFIG, reopened, 24.9)[0]
    allowed, trial = allow(CONFIG, reopened, 25.0)
    assert allowed
    assert on_success(trial) == Breaker()


def test_success_resets_the_consecutive_count() -> None:
    breaker = Breaker()
    for i in range(4):
        breaker = on_failure(CONFIG, breaker, float(i))
    breaker = on_success(breaker)
    breaker = on_failure(CONFIG, breaker, 5.0)
    assert breaker == Breaker("closed", 1, None)


def test_late_failure_does_not_extend_an_open_pause() -> None:
    breaker = Breaker("open", 5, 10.0)
    assert on_failure(CONFIG, breaker, 12.0) == Breaker("open", 6, 10.0)


def test_lost_trial_is_replaced_after_another_pause() -> None:
    _, trial = allow(CONFIG, Breaker("open", 5, 0.0), 10.0)
    assert not allow(CONFIG, trial, 19.9)[0]
    assert allow(CONFIG, trial, 20.0)[0]


class BreakerMachine(RuleBasedStateMachine):
    """Random calls, results and clock steps against a plain model of the rules."""

    def __init__(self) -> None:
        super().__init__()
        self.config = BreakerConfig(failure_threshold=3, reset_after_s=5.0)
        self.breaker = Breaker()
        self.now = 0.0
        self.consecutive = 0
        self.in_flight = 0

    @rule(step=st.floats(min_value=0, max_value=4, allow_nan=False))
    def tick(self, step: float) -> None:
        self.now += step

    @rule()
    def call(self) -> None:
        before = self.breaker
        allowed, self.breaker = allow(self.config, before, self.now)
        if before.state == "open":
            assert before.opened_at is not None
            # Never a call while open before the reset time.
            assert allowed == (self.now - before.opened_at >= self.config.reset_after_s)
        if before.state == "closed":
            assert allowed
        if allowed and before.state != "closed":
            assert self.breaker.state == "half_open"
        if allowed:
            self.in_flight += 1

    @precondition(lambda self: self.in_flight > 0)
    @rule()
    def succeed(self) -> None:
        self.in_flight -= 1
        self.consecutive = 0
        self.breaker = on_success(self.breaker)
        assert self.breaker == Breaker()

    @precondition(lambda self: self.in_flight > 0)
    @rule()
    def fail(self) -> None:
        self.in_flight -= 1
        self.consecutive += 1
        before = self.breaker
        self.breaker = on_failure(self.config, before, self.now)
        if before.state == "half_open" or self.consecutive >= self.config.failure_threshold:
            assert self.breaker.state == "open"

    @invariant()
    def consistent(self) -> None:
        assert self.breaker.failures == self.consecutive
        assert (self.breaker.state == "closed") == (self.breaker.opened_at is None)
        if self.breaker.state == "closed":
            assert self.consecutive < self.config.failure_threshold


BreakerMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestBreakerMachine = BreakerMachine.TestCase
