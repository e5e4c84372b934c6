"""``nazorg detector replay``: every ledger rebuilt from payments.events.v1, without Faust.

A plain consumer (aiokafka, no group) reads each partition from the beginning up to its end as
first seen,
and feeds the same ``PartitionProcessor`` the streaming worker uses, so the signals (byte for
byte) and the final ledgers must equal those of the streaming run.

The whole replay is one batch of that processor: ledgers stay live objects in its overlay and
are snapshotted once, at the end, instead of once per event (a snapshot costs more than applying
an event); a loan's next deadline is computed only when a day close of its partition asks.
Nothing is published, so nothing has to be stored before the end.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.helpers import create_ssl_context

from schemas.codec import encode
from services.arrears_detector.ledger import LedgerError
from services.arrears_detector.policy import DEFAULT_POLICY, DetectionPolicy
from services.arrears_detector.shell_partition import PartitionProcessor
from services.arrears_detector.shell_translate import (
    UndecodableEventError,
    day_closed_marker,
    decode,
    to_contract,
)
from services.common.gc_tuning import gc_paused
from services.common.kafka import client_kwargs
from services.common.settings import DetectorSettings

log = logging.getLogger(__name__)


@dataclass
class ReplayResult:
    """Signals (and day-closed markers) in the order they would have been published, and the
    final table contents."""

    signals: list[bytes] = field(default_factory=list)
    ledgers: dict[str, Any] = field(default_factory=dict)
    events: int = 0
    errors: int = 0


def replay(settings: DetectorSettings, policy: DetectionPolicy = DEFAULT_POLICY) -> ReplayResult:
    result = ReplayResult()
    processor = PartitionProcessor(ledgers=result.ledgers, watermarks={}, policy=policy)
    signals = result.signals
    partitions = settings.topic_partitions
    plan = processor.apply
    counts = [0, 0]  # events, errors

    def feed(records: list[ConsumerRecord[Any, Any]]) -> None:
        events = errors = 0
        for record in records:
            partition = record.partition
            events += 1
            try:
                event, event_time = decode(record.value)
                step = plan(partition, event, record.offset)
            except (UndecodableEventError, LedgerError) as exc:
                errors += 1
                log.error("event skipped in replay", extra={"error": type(exc).__name__})
                continue
            if step.signals:
                signals.extend(encode(to_contract(s, event_time)) for s in step.signals)
            if step.watermark is not None:
                marker = day_closed_marker(partition, partitions, step.watermark, event_time)
                signals.append(encode(marker))
        counts[0] += events
        counts[1] += errors

    with gc_paused():
        asyncio.run(read_to_end(settings, settings.topic_payment_events, feed, timeout_s=3600.0))
        processor.commit(processor.writes())
    result.events, result.errors = counts
    return result


async def read_to_end(
    settings: DetectorSettings,
    topic: str,
    feed: Callable[[list[ConsumerRecord[Any, Any]]], None],
    timeout_s: float,
) -> None:
    """Every record of ``topic`` up to its end as first seen, partition by partition in order.

    aiokafka rather than kafka-python (``services.common.kafka.iter_to_end``): it parses record
    batches in C, several times faster. As in ``iter_to_end``, "the end" is the high watermark
    of each partition's first fetch response, not ListOffsets (docs/decisions/0007).
    """
    kwargs: dict[str, Any] = client_kwargs(settings)
    if "SSL" in str(kwargs.get("security_protocol", "")):
        kwargs["ssl_context"] = create_ssl_context()
    consumer = AIOKafkaConsumer(
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        **kwargs,
    )
    await consumer.start()
    try:
        found = consumer.partitions_for_topic(topic) or set()
        partitions = [TopicPartition(topic, p) for p in sorted(found)]
        if not partitions:
            return
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end: dict[TopicPartition, int] = {}
        position = dict.fromkeys(partitions, 0)
        deadline = time.monotonic() + timeout_s
        while len(end) < len(partitions) or any(position[tp] < end[tp] for tp in end):
            if time.monotonic() > deadline:
                raise TimeoutError(f"did not reach the end of {topic} in {timeout_s}s")
            fetched = await consumer.getmany(
                *(tp for tp in partitions if tp not in end or position[tp] < end[tp]),
                timeout_ms=200,
                max_records=10_000,
            )
            for tp in partitions:
                highwater = consumer.highwater(tp)
                if tp not in end and highwater is not None:
                    end[tp] = highwater
            for tp, records in fetched.items():
                limit = end.get(tp)
                if records and limit is not None and records[-1].offset >= limit:
                    records = [r for r in records if r.offset < limit]
                if records:
                    feed(records)
            for tp in partitions:
                position[tp] = await consumer.position(tp)
    finally:
        await consumer.stop()
