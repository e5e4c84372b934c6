"""The worker's records, already bytes, handed straight to Faust's producer.

``Topic.send`` builds a ``FutureMessage`` for every record, runs the sensors and the
serializer registry and chains a callback to the ack: a fifth of the worker's CPU under the
latency benchmark (docs/performance.md, "Third round"). The detector's signals and markers are
encoded once by the contract's codec, and its changelog records are plain JSON, so they are
serialised here exactly as Faust's ``json`` codec would (a unit test holds the bytes equal)
and sent with ``ProducerT.send``: the same aiokafka producer, partitioner and settings, without
the per-record machinery around it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol

from faust.utils.json import JSONEncoder

# (key, value, partition): one record, key and value as bytes; partition None lets the
# producer's partitioner pick it from the key.
Record = tuple[bytes | None, bytes, int | None]

_ENCODE_JSON: Callable[[Any], str] = JSONEncoder(separators=(",", ":")).encode


def json_bytes(value: Any) -> bytes:
    """``value`` as Faust's ``json`` codec writes it (what a table's changelog holds)."""
    return _ENCODE_JSON(value).encode("utf-8")


class Producer(Protocol):
    """What the worker needs of Faust's producer (``faust.types.ProducerT``)."""

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
    ) -> Awaitable[Any]: ...


async def _send_in_order(producer: Producer, topic: str, records: list[Record]) -> list[Any]:
    """Send records one after the other (their order on each partition is kept)."""
    send = producer.send
    return [
        await send(topic, key, value, partition, None, None) for key, value, partition in records
    ]


async def enqueue(producer: Producer, topic: str, groups: Sequence[list[Record]]) -> list[Any]:
    """Hand each group to the producer in order, the groups side by side; the acks to await.

    One coroutine per group lets a produce request carry a record of every partition; within a
    group the order is that of the list.
    """
    groups = [group for group in groups if group]
    if not groups:
        return []
    sent: list[list[Awaitable[Any]]] = await asyncio.gather(
        *(_send_in_order(producer, topic, group) for group in groups)
    )
    return [ack for group in sent for ack in group]


async def send_and_wait(
    producer: Producer, topic: str, groups: Sequence[list[Record]]
) -> list[Any]:
    """``enqueue`` and wait for the broker's acks of all; their record metadata, in order."""
    acks = await enqueue(producer, topic, groups)
    return list(await asyncio.gather(*acks))


def last_offsets(metadata: Iterable[Any]) -> dict[Any, int]:
    """The highest acknowledged offset per topic partition (``RecordMetadata``s)."""
    last: dict[Any, int] = {}
    for record in metadata:
        tp = record.topic_partition
        if record.offset > last.get(tp, -1):
            last[tp] = record.offset
    return last
