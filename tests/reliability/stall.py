"""Where a pilot run is stuck, per partition, read before its stack is stopped.

A stage that times out says only "detector watermark X < Y"; this says which hop holds the
day back: the ticks on the payment topic, the detector group's lag, the day-closed markers on
the signal topic, the intervention group's lag and the intervention's stored watermarks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa
from kafka.consumer.fetcher import ConsumerRecord

from services.common.db import make_engine
from services.common.kafka import iter_to_end
from services.common.lag import LagProbe
from services.common.settings import CommonSettings
from services.intervention.tables import watermarks


def last_dates(records: Iterable[ConsumerRecord], kind: str) -> dict[int, tuple[str, int, int]]:
    """Partition -> (last business date of a ``kind`` record, its offset, records seen)."""
    last: dict[int, tuple[str, int]] = {}
    seen: dict[int, int] = {}
    for record in records:
        seen[record.partition] = seen.get(record.partition, 0) + 1
        body = json.loads(record.value)
        if body.get("type") == kind:
            last[record.partition] = (body["data"]["business_date"], record.offset)
    return {p: (day, offset, seen[p]) for p, (day, offset) in last.items()}


def group_lag(settings: CommonSettings, group: str, topic: str) -> dict[int, int]:
    """Partition -> records of ``topic`` that ``group`` has not committed (the lag on-call
    sees, ``services.common.lag``): a lag that stays above 0 is a partition nobody processes."""
    probe = LagProbe(settings, group, client_id="nazorg-stall")
    try:
        return {lag.partition: lag.messages for lag in probe.measure([topic])}
    finally:
        probe.close()


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
    hop("detector lag (records)", lambda: group_lag(settings, detector_group, payments))
    hop(
        "last day-closed per signal partition (date, offset, records)",
        lambda: last_dates(iter_to_end(settings, signals), "detector_day_closed"),
    )
    hop("intervention lag (records)", lambda: group_lag(settings, intervention_group, signals))

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
