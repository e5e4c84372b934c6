"""Fault state: remaining counts down per request, then back to none."""

from __future__ import annotations

import asyncio
import time

from schemas.sofie_api import FaultConfig
from services.sofie_dev.faults import NO_FAULT, FaultController, delay_answer, take


def test_no_fault_takes_nothing() -> None:
    assert take(NO_FAULT) == (None, NO_FAULT)


def test_a_fault_without_remaining_stays_until_changed() -> None:
    refuse = FaultConfig(mode="refuse")
    for _ in range(3):
        fault, refuse = take(refuse)
        assert fault is not None
        assert fault.mode == "refuse"
    assert refuse.mode == "refuse"


def test_remaining_counts_down_and_the_last_use_clears_the_fault() -> None:
    state = FaultConfig(mode="error_500", remaining=2)
    first, state = take(state)
    assert first is not None
    assert state.remaining == 1
    second, state = take(state)
    assert second is not None
    assert second.mode == "error_500"
    assert state == NO_FAULT
    assert take(state)[0] is None


def test_refuse_and_error_answer_at_once() -> None:
    controller = FaultController()
    refusal = asyncio.run(controller.act(FaultConfig(mode="refuse"), 0))
    assert refusal is not None
    assert refusal.status == 503
    refusal = asyncio.run(controller.act(FaultConfig(mode="error_500"), 0))
    assert refusal is not None
    assert refusal.status == 500


def test_latency_lets_the_request_through_and_delays_only_the_answer() -> None:
    controller = FaultController()
    latency = FaultConfig(mode="latency", latency_s=0.1)
    started = time.monotonic()
    assert asyncio.run(controller.act(latency, 0)) is None
    assert time.monotonic() - started < 0.05
    asyncio.run(delay_answer(latency))
    assert time.monotonic() - started >= 0.1
    asyncio.run(delay_answer(None))


def test_a_held_request_is_released_when_the_fault_changes() -> None:
    controller = FaultController(hold_s=30)
    controller.set(FaultConfig(mode="timeout"))

    async def scenario() -> float:
        fault, generation = controller.take()
        assert fault is not None
        started = time.monotonic()
        held = asyncio.create_task(controller.act(fault, generation))
        await asyncio.sleep(0.1)
        assert not held.done()
        controller.set(NO_FAULT)
        refusal = await held
        assert refusal is not None
        assert refusal.status == 504
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 1.0


def test_timeout_holds_for_latency_s_when_given() -> None:
    controller = FaultController(hold_s=30)
    started = time.monotonic()
    refusal = asyncio.run(controller.act(FaultConfig(mode="timeout", latency_s=0.1), 0))
    assert refusal is not None
    assert refusal.error == "timeout"
    assert 0.1 <= time.monotonic() - started < 1.0
