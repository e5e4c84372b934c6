"""Where Faust's table recovery reads a changelog's end: the fetch high watermark.

Faust recovers a table by reading its changelog up to the end that ``Consumer.highwaters``
reports, which is the broker's ListOffsets answer. Tansu 0.6 answers ListOffsets(latest) with
the base offset of a partition's last record batch plus one (docs/decisions/0007), so after a
multi-record batch a recovery stopped short (losing the last ledger updates) or a standby that
had read the true end refused to start (``ConsistencyError``). The high watermark in a Fetch
response is right on Tansu and on Apache Kafka alike.

Before this, the workers wrote one record per batch on the embedded broker so that the two
answers agreed; that cost a produce round trip per changelog record of a partition, which
bounded the detector on the embedded broker (docs/performance.md). With
``kafka_end_offsets_from_fetch`` the ends come from a fetch instead and batches are normal.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.common.faust_consumer import on_new_consumer

FETCH_WAIT_MS = 50
"""How long the broker may hold an empty fetch (an empty partition) before answering."""


async def fetch_ends(
    bootstrap_servers: list[str], partitions: Iterable[Any], timeout_s: float = 30.0
) -> dict[Any, int]:
    """The end offset of each partition, from the high watermark of a fetch.

    The fetch starts one offset before the ListOffsets answer: on Tansu that is the last
    batch's base offset, elsewhere the last record, and an empty partition is fetched from 0.
    Keys are the partitions as given (Faust's ``TP`` or aiokafka's ``TopicPartition``).
    """
    wanted = {TopicPartition(tp.topic, tp.partition): tp for tp in partitions}
    if not wanted:
        return {}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        fetch_max_wait_ms=FETCH_WAIT_MS,
    )
    await consumer.start()
    try:
        tps = list(wanted)
        consumer.assign(tps)
        listed = await consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, max(listed[tp] - 1, 0))
        ends: dict[Any, int] = {}
        deadline = time.monotonic() + timeout_s
        pending = set(tps)
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no fetch answer for {sorted(pending)} in {timeout_s}s")
            await consumer.getmany(*pending, timeout_ms=200)
            for tp in list(pending):
                highwater = consumer.highwater(tp)
                if highwater is not None:
                    ends[wanted[tp]] = max(highwater, listed[tp])
                    pending.discard(tp)
        return ends
    finally:
        await consumer.stop()


def read_changelog_ends_by_fetch(app: faust.App, bootstrap_servers: list[str]) -> None:
    """Make the app's consumer report ends from fetches (table recovery asks it for them)."""

    async def highwaters(*partitions: Any) -> Mapping[Any, int]:
        return await fetch_ends(bootstrap_servers, partitions)

    def adjust(consumer: Any) -> None:
        consumer.highwaters = highwaters

    on_new_consumer(app, adjust)
