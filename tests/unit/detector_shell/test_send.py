"""The worker's publishing: per-group order, nothing sent before its ack, Faust's bytes."""

from __future__ import annotations

import asyncio
from collections import namedtuple
from decimal import Decimal
from typing import Any

import pytest
from faust.serializers.registry import Registry
from hypothesis import given
from hypothesis import strategies as st

from services.arrears_detector.shell_send import json_bytes, last_offsets, send_and_wait

Metadata = namedtuple("Metadata", "topic_partition offset")
FAUST = Registry()  # what a table with key_serializer="json", value_serializer="json" uses


class FakeProducer:
    """Records sends; each send's ack is a future the test resolves."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any, Any, int | None]] = []
        self.acks: list[asyncio.Future[Any]] = []

    async def send(
        self, topic: str, key: Any, value: Any, partition: int | None, timestamp: Any, headers: Any
    ) -> Any:
        await asyncio.sleep(0)  # a real send may wait for the partition's batch to drain
        self.sent.append((topic, key, value, partition))
        ack: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.acks.append(ack)
        return ack


def test_groups_keep_their_order_and_the_call_waits_for_every_ack() -> None:
    async def scenario() -> None:
        producer = FakeProducer()
        groups = [
            [(b"a", bytes([n]), 0) for n in range(5)],
            [],
            [(b"b", bytes([n]), 1) for n in range(3)],
        ]
        task = asyncio.ensure_future(send_and_wait(producer, "t", groups))
        for _ in range(20):
            await asyncio.sleep(0)
        assert len(producer.sent) == 8
        assert {topic for topic, *_ in producer.sent} == {"t"}
        assert [v for _, k, v, _ in producer.sent if k == b"a"] == [bytes([n]) for n in range(5)]
        assert [v for _, k, v, _ in producer.sent if k == b"b"] == [bytes([n]) for n in range(3)]
        # Both groups were sent side by side, not one after the other.
        assert {k for _, k, _, _ in producer.sent[:2]} == {b"a", b"b"}
        for n, ack in enumerate(producer.acks[:-1]):
            ack.set_result(n)
        await asyncio.sleep(0)
        assert not task.done()
        producer.acks[-1].set_result(7)
        assert sorted(await task) == list(range(8))

    asyncio.run(scenario())


def test_a_failed_ack_fails_the_batch() -> None:
    async def scenario() -> None:
        producer = FakeProducer()
        task = asyncio.ensure_future(send_and_wait(producer, "t", [[(b"a", b"1", 0)]]))
        for _ in range(5):
            await asyncio.sleep(0)
        producer.acks[0].set_exception(OSError("broker gone"))
        with pytest.raises(OSError, match="broker gone"):
            await task

    asyncio.run(scenario())


def test_nothing_to_send_sends_nothing() -> None:
    producer = FakeProducer()
    assert asyncio.run(send_and_wait(producer, "t", [[], []])) == []
    assert producer.sent == []


def test_last_offsets_keeps_the_highest_offset_of_each_partition() -> None:
    acked = [Metadata("p0", 4), Metadata("p1", 9), Metadata("p0", 7), Metadata("p0", 5)]
    assert last_offsets(acked) == {"p0": 7, "p1": 9}


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_JSON_VALUES)
def test_changelog_bytes_are_what_a_faust_json_table_writes(value: Any) -> None:
    assert json_bytes(value) == FAUST.dumps_value(None, value, serializer="json")
    if isinstance(value, str):
        assert json_bytes(value) == FAUST.dumps_key(None, value, serializer="json")


def test_a_ledger_snapshot_encodes_as_faust_would() -> None:
    value = {"p": 3, "next": None, "ledger": {"paid": "12.50", "n": [1, Decimal("1.1")]}}
    assert json_bytes(value) == FAUST.dumps_value(None, value, serializer="json")
    assert json_bytes("L-1é") == FAUST.dumps_key(None, "L-1é", serializer="json") == b'"L-1\\u00e9"'
