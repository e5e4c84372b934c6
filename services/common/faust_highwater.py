"""Faust table recovery on a broker whose ListOffsets answer is wrong (Tansu 0.6).

Faust decides when a changelog has been read to its end from ``end_offsets()`` (ListOffsets).
Tansu answers with the last batch's base offset plus one, so recovery either refuses to start or
never completes, and the worker stops consuming after a rebalance (docs/decisions/0007). This
swaps in a consumer whose highwaters come from a fetch response's high watermark instead, which
Tansu reports correctly. Used only with ``kafka_single_record_batches`` (the embedded broker).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from typing import Any

import faust
from faust.transport.drivers import aiokafka as driver
from faust.types import TP
from kafka import KafkaConsumer, TopicPartition

from services.common.kafka import client_kwargs
from services.common.settings import CommonSettings


def fetch_highwaters(
    settings: CommonSettings, partitions: Iterable[TP], timeout_s: float = 10.0
) -> dict[TP, int]:
    """The high watermark of each partition, read from fetch responses (not ListOffsets)."""
    wanted = {TopicPartition(tp.topic, tp.partition): tp for tp in partitions}
    if not wanted:
        return {}
    consumer = KafkaConsumer(
        enable_auto_commit=False,
        max_partition_fetch_bytes=1024,
        fetch_max_bytes=64 * 1024,
        **client_kwargs(settings),
    )
    try:
        consumer.assign(list(wanted))
        consumer.seek_to_beginning(*wanted)
        found: dict[TP, int] = {}
        deadline = time.monotonic() + timeout_s
        while len(found) < len(wanted):
            if time.monotonic() > deadline:
                raise TimeoutError("no fetch response named every high watermark in time")
            consumer.poll(timeout_ms=100, max_records=1)
            for tp, faust_tp in wanted.items():
                highwater = consumer.highwater(tp)
                if highwater is not None:
                    found[faust_tp] = highwater
        return found
    finally:
        consumer.close()


def use_fetch_highwaters(app: faust.App, settings: CommonSettings) -> None:
    """Make ``app``'s consumer take recovery highwaters from fetch responses."""

    class FetchHighwaterThread(driver.AIOKafkaConsumerThread):
        async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
            return await asyncio.to_thread(fetch_highwaters, settings, partitions)

    class FetchHighwaterConsumer(driver.Consumer):
        def _new_consumer_thread(self) -> Any:
            return FetchHighwaterThread(self, loop=self.loop, beacon=self.beacon)

    # Per app, not per class: other apps in the process keep Faust's own consumer.
    app.transport.Consumer = FetchHighwaterConsumer  # type: ignore[misc]
