"""Outcome store with a tracking position: effectively-once output from at-least-once input.

A consumer hands over the outcomes derived from one input message together with that message's
position (consumer, topic, partition, offset). Both are committed in one transaction, so after a
crash the stored position says exactly which input has had its effects, and redelivered input
is recognised and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite

from services.common.db import connect_read_only
from services.intervention.tables import consumer_positions, outcomes

__all__ = ["InterventionRepository", "OutcomeRow", "Position"]


@dataclass(frozen=True, slots=True)
class Position:
    """The input message whose effects are being recorded."""

    consumer: str
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    """One outcome event; ``payload`` is its exact JSON text, ``time`` is timezone-aware."""

    id: str
    subject: str
    type: str
    time: datetime
    arm: str | None
    payload: str


class InterventionRepository:
    """Reads and writes the intervention service's outcome store through a SQLAlchemy Engine.

    Works unchanged on PostgreSQL and SQLite (the engine from ``services.common.db.make_engine``).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name
        if self._dialect not in ("postgresql", "sqlite"):
            raise ValueError(f"unsupported dialect {self._dialect!r}")

    def record(self, position: Position, outcomes: Sequence[OutcomeRow]) -> bool:
        """Apply ``outcomes`` and advance the tracking position in ONE transaction.

        Returns False, writing nothing, when ``position.offset`` is not beyond the stored offset
        for (consumer, topic, partition): re-consumed input changes nothing. Outcome ids already
        stored are skipped, not errors (ids are deterministic, so a duplicate is the same event).

        Concurrency: the position is claimed first, by one ``INSERT .. ON CONFLICT DO UPDATE ..
        WHERE last_offset < new .. RETURNING`` statement, which returns a row only when it inserted
        or advanced the position. On PostgreSQL the upsert row-locks the position (or waits on the
        primary key for a concurrent first insert) and re-evaluates the WHERE against the winner's
        committed row, so of two workers racing on one position exactly one advances it and the
        other gets False. Unlike SELECT .. FOR UPDATE, this also covers a position's very first
        record, when there is no row to lock yet. On SQLite the engine begins every writing
        transaction with ``BEGIN IMMEDIATE``, which serialises writers outright. Because the
        claim comes first, the loser never touches the outcomes table.
        """
        with self._engine.begin() as connection:
            if not self._advance(connection, position):
                return False
            if outcomes:
                connection.execute(self._insert_outcomes(), [_outcome_values(o) for o in outcomes])
            return True

    def last_offset(self, consumer: str, topic: str, partition: int) -> int | None:
        """The last offset recorded for this consumer and partition, or None if there is none."""
        query = sa.select(consumer_positions.c.last_offset).where(
            consumer_positions.c.consumer == consumer,
            consumer_positions.c.topic == topic,
            consumer_positions.c.partition == partition,
        )
        with connect_read_only(self._engine) as connection:
            value = connection.execute(query).scalar_one_or_none()
        return None if value is None else int(value)

    def outcomes(self, subject: str | None = None) -> list[OutcomeRow]:
        """All outcomes, or one subject's, ordered by event time then id (a total order)."""
        query = sa.select(
            outcomes.c.id,
            outcomes.c.subject,
            outcomes.c.type,
            outcomes.c.time,
            outcomes.c.arm,
            outcomes.c.payload,
        ).order_by(outcomes.c.time, outcomes.c.id)
        if subject is not None:
            query = query.where(outcomes.c.subject == subject)
        with connect_read_only(self._engine) as connection:
            rows = connection.execute(query).all()
        return [
            OutcomeRow(
                id=row.id,
                subject=row.subject,
                type=row.type,
                time=row.time,
                arm=row.arm,
                payload=row.payload,
            )
            for row in rows
        ]

    def count_outcomes(self) -> int:
        """Number of stored outcomes."""
        query = sa.select(sa.func.count()).select_from(outcomes)
        with connect_read_only(self._engine) as connection:
            return int(connection.execute(query).scalar_one())

    def _advance(self, connection: Connection, position: Position) -> bool:
        insert = self._insert(consumer_positions).values(
            consumer=position.consumer,
            topic=position.topic,
            partition=position.partition,
            last_offset=position.offset,
        )
        statement = insert.on_conflict_do_update(
            index_elements=[
                consumer_positions.c.consumer,
                consumer_positions.c.topic,
                consumer_positions.c.partition,
            ],
            set_={
                "last_offset": insert.excluded.last_offset,
                "updated_at": sa.func.current_timestamp(),
            },
            where=consumer_positions.c.last_offset < insert.excluded.last_offset,
        )
        # RETURNING (not rowcount, which drivers need not report for INSERT) yields the row only
        # when it was inserted or advanced.
        claimed = connection.execute(statement.returning(consumer_positions.c.last_offset))
        return claimed.first() is not None

    def _insert_outcomes(self) -> postgresql.Insert | sqlite.Insert:
        return self._insert(outcomes).on_conflict_do_nothing(index_elements=[outcomes.c.id])

    def _insert(self, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
        # ON CONFLICT is spelled the same on both backends, but SQLAlchemy offers it only through
        # each dialect's own insert(); both constructs share the methods used here.
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)


def _outcome_values(outcome: OutcomeRow) -> dict[str, Any]:
    return {
        "id": outcome.id,
        "subject": outcome.subject,
        "type": outcome.type,
        "time": outcome.time,
        "arm": outcome.arm,
        "payload": outcome.payload,
    }
