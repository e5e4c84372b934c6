"""The group rejoin fix: a worker dropped from its group revokes, then rejoins however idle.

The coordinator is aiokafka's real ``GroupCoordinator`` class with its network steps (revoke
callback, JoinGroup/SyncGroup, heartbeat task) replaced by recorders, so the decision logic under
test is aiokafka's own code plus ours.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiokafka
import faust
import pytest
from aiokafka.consumer.group_coordinator import GroupCoordinator
from aiokafka.consumer.subscription_state import SubscriptionState

from services.common import group_rejoin
from services.common.group_rejoin import (
    MAX_POLL_RECORDS,
    ORIGINAL_ENSURE_ACTIVE_GROUP,
    install_group_rejoin_fix,
    keep_group_membership,
)

MAX_POLL_S = 8.0
ASSIGNMENT = object()


@dataclass
class FakeSubscriptionState:
    fetcher_idle_time: float
    subscribed_pattern: Any = None


@dataclass
class FakeAssignment:
    tps: frozenset[str]


@dataclass
class FakeSubscription:
    assignment: Any = ASSIGNMENT


@dataclass
class Calls:
    names: list[str] = field(default_factory=list)


def coordinator(*, idle_s: float, revoked: bool, calls: Calls) -> Any:
    """A real GroupCoordinator whose broker-facing steps only record that they ran."""
    coord: Any = object.__new__(GroupCoordinator)
    coord._subscription = FakeSubscriptionState(fetcher_idle_time=idle_s)
    coord._performed_join_prepare = revoked
    coord._max_poll_interval = MAX_POLL_S
    coord._retry_backoff_ms = 1
    coord._heartbeat_task = None

    async def on_join_prepare(prev_assignment: Any) -> None:
        calls.names.append("revoke")

    async def do_rejoin_group(subscription: Any) -> bool:
        calls.names.append("join")
        return True

    coord._on_join_prepare = on_join_prepare
    coord._do_rejoin_group = do_rejoin_group
    coord._start_heartbeat_task = lambda: calls.names.append("heartbeat")
    return coord


def run(ensure: Any, coord: Any, prev: Any) -> Any:
    return asyncio.run(ensure(coord, FakeSubscription(), prev))


HELD = FakeAssignment(tps=frozenset({"payments-0", "payments-1"}))


def test_unpatched_aiokafka_never_rejoins_once_revoked_and_idle() -> None:
    """The bug being worked around; if this fails, aiokafka changed: re-check the fix."""
    calls = Calls()
    coord = coordinator(idle_s=MAX_POLL_S + 10, revoked=True, calls=calls)
    for _ in range(3):
        assert run(ORIGINAL_ENSURE_ACTIVE_GROUP, coord, HELD) is None
    assert calls.names == []


def test_evicted_member_that_already_revoked_rejoins() -> None:
    calls = Calls()
    coord = coordinator(idle_s=MAX_POLL_S + 10, revoked=True, calls=calls)
    assert run(group_rejoin.ensure_active_group, coord, HELD) is ASSIGNMENT
    assert calls.names == ["join", "heartbeat"]
    assert coord._performed_join_prepare is False


def test_idle_clock_restarts_when_the_member_rejoins() -> None:
    """Else the heartbeat would drop it again for the time the rebalance took."""
    coord = coordinator(idle_s=MAX_POLL_S + 10, revoked=True, calls=Calls())
    loop = asyncio.new_event_loop()
    try:
        coord._subscription = SubscriptionState(loop=loop)
    finally:
        loop.close()
    coord._subscription._last_fetch_ended = time.monotonic() - (MAX_POLL_S + 10)
    assert coord._subscription.fetcher_idle_time > MAX_POLL_S
    assert run(group_rejoin.ensure_active_group, coord, HELD) is ASSIGNMENT
    assert coord._subscription.fetcher_idle_time < 1.0


def test_member_dropped_for_idleness_revokes_at_once_then_rejoins() -> None:
    """Revoking right away stops Faust processing partitions the group gave to another member."""
    calls = Calls()
    coord = coordinator(idle_s=MAX_POLL_S + 10, revoked=False, calls=calls)
    assert run(group_rejoin.ensure_active_group, coord, HELD) is ASSIGNMENT
    assert calls.names == ["revoke", "join", "heartbeat"]


def test_member_without_partitions_rejoins_however_long_idle() -> None:
    calls = Calls()
    coord = coordinator(idle_s=MAX_POLL_S + 1000, revoked=False, calls=calls)
    assert run(group_rejoin.ensure_active_group, coord, FakeAssignment(frozenset())) is ASSIGNMENT
    assert calls.names == ["revoke", "join", "heartbeat"]


def test_failed_join_is_retried_without_a_second_revoke() -> None:
    calls = Calls()
    coord = coordinator(idle_s=0.0, revoked=False, calls=calls)
    outcomes = iter([False, True])

    async def flaky_join(subscription: Any) -> bool:
        calls.names.append("join")
        return next(outcomes)

    coord._do_rejoin_group = flaky_join
    assert run(group_rejoin.ensure_active_group, coord, HELD) is None
    coord._subscription.fetcher_idle_time = MAX_POLL_S + 10  # Faust stopped fetching meanwhile
    assert run(group_rejoin.ensure_active_group, coord, HELD) is ASSIGNMENT
    assert calls.names == ["revoke", "join", "join", "heartbeat"]


def test_install_patches_the_coordinator_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GroupCoordinator, "ensure_active_group", ORIGINAL_ENSURE_ACTIVE_GROUP)
    assert install_group_rejoin_fix() is True
    assert install_group_rejoin_fix() is True
    assert GroupCoordinator.ensure_active_group is group_rejoin.ensure_active_group


def test_install_refuses_an_unchecked_aiokafka(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GroupCoordinator, "ensure_active_group", ORIGINAL_ENSURE_ACTIVE_GROUP)
    monkeypatch.setattr(aiokafka, "__version__", "9.9.9")
    assert install_group_rejoin_fix() is False
    assert GroupCoordinator.ensure_active_group is ORIGINAL_ENSURE_ACTIVE_GROUP


def test_membership_bounds_records_per_poll_unless_the_app_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(GroupCoordinator, "ensure_active_group", ORIGINAL_ENSURE_ACTIVE_GROUP)
    app = faust.App("rejoin-test", broker="kafka://127.0.0.1:1", autodiscover=False)
    chosen = faust.App(
        "rejoin-test-chosen",
        broker="kafka://127.0.0.1:1",
        autodiscover=False,
        broker_max_poll_records=50,
    )
    keep_group_membership(app)
    keep_group_membership(chosen)
    assert app.conf.broker_max_poll_records == MAX_POLL_RECORDS
    assert chosen.conf.broker_max_poll_records == 50
    assert GroupCoordinator.ensure_active_group is group_rejoin.ensure_active_group
