"""Where a pilot run is stuck, per partition, read before its stack is stopped.

A stage that times out says only "detector watermark X < Y"; this says which hop holds the
day back: the ticks on the payment topic, the detector group's committed offsets, the
day-closed markers on the signal topic, the intervention group's committed offsets and the
intervention's stored watermarks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from services.common.db import make_engine
from services.common.kafka import client_kwargs, iter_to_end
from services.common.settings import CommonSettings
from services.intervention.tables import watermarks


def last_dates(records: Iterable[ConsumerRecord], kind: str) -> dict[int, tuple[str, int, int]]:
    """Partition -> (last business date of a ``kind`` record, its offset, records seen)."""
    found: dict[int, tuple[str, int, int]] = {}
    seen: dict[int, int] = {}
    for record in records:
        seen[record.partition] = seen.get(record.partition, 0) + 1
        body = json.loads(record.value)
        if body.get("type") == kind:
            found[record.partition] = (body["data"]["business_date"], record.offset, 0)
    return {p: (d, o, seen[p]) for p, (d, o, _) in found.items()}


def committed(settings: CommonSettings, group: str, topic: str) -> dict[int, int | None]:
    consumer = KafkaConsumer(group_id=group, enable_auto_commit=False, **client_kwargs(settings))
    try:
        return {
            p: consumer.committed(TopicPartition(topic, p))
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        }
    finally:
        consumer.close(autocommit=False)


def stall_report(
    settings: CommonSettings,
    *,
    detector_group: str,
    intervention_group: str,
    database_url: str,
    schema: str | None,
) -> str:
    """A few lines per hop; errors in reading a hop are reported in its place."""
    lines: list[str] = []

    def hop(label: str, read: object) -> None:
        try:
            lines.append(f"{label}: {read() if callable(read) else read}")
        except Exception as error:  # a diagnosis must not hide the failure it explains
            lines.append(f"{label}: unreadable ({error!r})")

    payments, signals = settings.topic_payment_events, settings.topic_signals
    hop(
        "last tick per payment partition (date, offset, records)",
        lambda: last_dates(iter_to_end(settings, payments), "business_day_closed"),
    )
    hop("detector committed", lambda: committed(settings, detector_group, payments))
    hop(
        "last day-closed per signal partition (date, offset, records)",
        lambda: last_dates(iter_to_end(settings, signals), "detector_day_closed"),
    )
    hop("intervention committed", lambda: committed(settings, intervention_group, signals))

    def stored() -> dict[int, str]:
        engine = make_engine(database_url, schema)
        try:
            with engine.connect() as connection:
                rows = connection.execute(sa.select(watermarks)).all()
                return {int(r.partition): str(r.business_date) for r in rows}
        finally:
            engine.dispose()

    hop("intervention watermarks", stored)
    return "\n".join(lines)


def log_warnings(workdir: Path, per_file: int = 15) -> str:
    """The last warnings and errors of every service log in ``workdir`` (JSON lines)."""
    lines: list[str] = []
    for log in sorted(workdir.glob("*.log")):
        found = [
            line.strip()[:300]
            for line in log.read_text(errors="replace").splitlines()
            if '"level": "warning"' in line or '"level": "error"' in line
        ]
        lines.append(f"{log.name}: {len(found)} warnings or errors")
        lines.extend(f"  {line}" for line in found[-per_file:])
    return "\n".join(lines)


def group_progress(settings: CommonSettings, group: str, topic: str) -> dict[int, str]:
    """Partition -> ``committed/end`` of ``group`` on ``topic``: a partition whose committed
    offset stays short of the end is one nobody processes."""
    ends: dict[int, int] = {}
    for record in iter_to_end(settings, topic):
        ends[record.partition] = record.offset + 1
    done = committed(settings, group, topic)
    return {p: f"{done.get(p)}/{ends.get(p, 0)}" for p in sorted(set(ends) | set(done))}
