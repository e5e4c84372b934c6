"""Test doubles for the ingest shells: a sink that records or fails, a consumer that replays."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka import TopicPartition

from services.ingest.publisher import Outgoing, PublishError


@dataclass
class FakeSink:
    """Records what was published; ``fail_with`` makes the next publish fail with those acks."""

    published: list[Outgoing] = field(default_factory=list)
    fail_with: tuple[bool, ...] | None = None
    delay_s: float = 0.0
    calls: int = 0

    def publish(self, records: Sequence[Outgoing]) -> None:
        self.calls += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.fail_with is not None:
            acked, self.fail_with = self.fail_with, None
            self.published.extend(r for r, ok in zip(records, acked, strict=False) if ok)
            raise PublishError("broker did not acknowledge: FakeTimeout", acked)
        self.published.extend(records)

    def reachable(self, timeout: float = 1.0) -> bool:
        return True


@dataclass(frozen=True)
class FakeRecord:
    topic: str
    partition: int
    offset: int
    value: bytes | None
    timestamp: int = 1_772_445_600_000


@dataclass
class FakeConsumer:
    """Serves ``log`` from the current positions, like a group member owning every partition."""

    log: dict[TopicPartition, list[FakeRecord]]
    positions: dict[TopicPartition, int] = field(default_factory=dict)
    commits: list[dict[TopicPartition, int]] = field(default_factory=list)
    fail_commit: bool = False
    closed: bool = False
    polls: int = 0

    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> dict[Any, Any]:
        self.polls += 1
        batch: dict[Any, Any] = {}
        for tp, records in self.log.items():
            start = self.positions.get(tp, 0)
            chunk = records[start : start + (max_records or len(records))]
            if chunk:
                batch[tp] = chunk
                self.positions[tp] = start + len(chunk)
        return batch

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.positions[partition] = offset

    def commit(self, offsets: Any = None) -> None:
        from kafka.errors import CommitFailedError

        if self.fail_commit:
            raise CommitFailedError("rebalanced")
        self.commits.append({tp: meta.offset for tp, meta in offsets.items()})

    def assignment(self) -> set[TopicPartition]:
        return set(self.log)

    def close(self, autocommit: bool = True) -> None:
        assert not autocommit, "the shell never auto-commits"
        self.closed = True
