"""The worker's batch publishing: per-group order, and nothing counts as sent before its ack."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.arrears_detector.app import send_and_wait


class FakeTopic:
    """Records sends; each send's ack is a future the test resolves."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, Any, int | None]] = []
        self.acks: list[asyncio.Future[None]] = []

    async def send(self, *, key: Any, value: Any, partition: int | None, **_: Any) -> Any:
        await asyncio.sleep(0)  # a real send may wait for the partition's batch to drain
        self.sent.append((key, value, partition))
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.acks.append(ack)
        return ack


def test_groups_keep_their_order_and_the_call_waits_for_every_ack() -> None:
    async def scenario() -> None:
        topic = FakeTopic()
        groups = [[(b"a", n, 0) for n in range(5)], [], [(b"b", n, 1) for n in range(3)]]
        task = asyncio.ensure_future(send_and_wait(topic, groups))  # type: ignore[arg-type]
        for _ in range(20):
            await asyncio.sleep(0)
        assert len(topic.sent) == 8
        assert [v for k, v, _ in topic.sent if k == b"a"] == list(range(5))
        assert [v for k, v, _ in topic.sent if k == b"b"] == list(range(3))
        # Both groups were sent side by side, not one after the other.
        assert {k for k, _, _ in topic.sent[:2]} == {b"a", b"b"}
        for ack in topic.acks[:-1]:
            ack.set_result(None)
        await asyncio.sleep(0)
        assert not task.done()
        topic.acks[-1].set_result(None)
        assert await task == 8

    asyncio.run(scenario())


def test_a_failed_ack_fails_the_batch() -> None:
    async def scenario() -> None:
        topic = FakeTopic()
        task = asyncio.ensure_future(send_and_wait(topic, [[(b"a", 1, 0)]]))  # type: ignore[arg-type]
        for _ in range(5):
            await asyncio.sleep(0)
        topic.acks[0].set_exception(OSError("broker gone"))
        with pytest.raises(OSError, match="broker gone"):
            await task

    asyncio.run(scenario())


def test_nothing_to_send_sends_nothing() -> None:
    topic = FakeTopic()
    assert asyncio.run(send_and_wait(topic, [[], []])) == 0  # type: ignore[arg-type]
    assert topic.sent == []
