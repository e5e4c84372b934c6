"""``nazorg detector replay``: every ledger rebuilt from payments.events.v1, without Faust.

A plain consumer reads each partition from the beginning up to its end as first seen,
and feeds the same ``PartitionProcessor`` the streaming worker uses, so the signals (byte for
byte) and the final ledgers must equal those of the streaming run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

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
from services.common.kafka import iter_to_end
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
    records = iter_to_end(
        settings,
        settings.topic_payment_events,
        timeout_s=3600.0,
        max_poll_records=10_000,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )
    for record in records:
        partition = record.partition
        result.events += 1
        try:
            event, event_time = decode(record.value)
            step = processor.plan(partition, event)
        except (UndecodableEventError, LedgerError) as exc:
            result.errors += 1
            log.error("event skipped in replay", extra={"error": type(exc).__name__})
            continue
        result.signals.extend(encode(to_contract(s, event_time)) for s in step.signals)
        if step.watermark is not None:
            marker = day_closed_marker(
                partition, settings.topic_partitions, step.watermark, event_time
            )
            result.signals.append(encode(marker))
        processor.commit(partition, step)
    return result
