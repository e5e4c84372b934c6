"""SQL building blocks shared by the repository modules: upserts, the position claim, mappings.

Everything here runs on a Connection inside a transaction the caller owns, so the pieces compose
into one commit (a position, decisions, outbox rows and outcomes together).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import fields
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, TypeAlias

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from services.intervention.repository_rows import (
    DecisionRow,
    EnrolmentRow,
    OutboxRow,
    OutcomeRow,
    Position,
)
from services.intervention.tables import (
    consumer_positions,
    enrolments,
    outbox,
    outcome_relay,
    outcomes,
)

#: ``outcomes.payload`` etc. are read through these column lists so every reader maps alike.
OUTCOME_COLUMNS = (
    outcomes.c.id,
    outcomes.c.subject,
    outcomes.c.type,
    outcomes.c.time,
    outcomes.c.arm,
    outcomes.c.payload,
)
OUTBOX_COLUMNS = (
    outbox.c.action_id,
    outbox.c.request,
    outbox.c.status,
    outbox.c.attempts,
    outbox.c.next_attempt_at,
    outbox.c.last_error,
    outbox.c.sofie_action_id,
)

#: A result row of any shape (Row is variadic in SQLAlchemy 2.1).
AnyRow: TypeAlias = sa.Row[*tuple[Any, ...]]

# enrolments.intended_allocation is NUMERIC(6, 5); rounding here (not in the database) makes
# PostgreSQL and SQLite store the same value.
_ALLOCATION_QUANTUM = Decimal("0.00001")


def insert_for(connection: Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's own INSERT, which is where SQLAlchemy offers ``ON CONFLICT``.

    ON CONFLICT is spelled the same on both backends; the two constructs share the methods used.
    """
    return _insert_construct(connection.dialect.name, table)


def _insert_construct(dialect: str, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def advance_position(connection: Connection, position: Position) -> bool:
    """Claim ``position``: True only if it was new or beyond the stored offset.

    One ``INSERT .. ON CONFLICT DO UPDATE .. WHERE last_offset < new .. RETURNING``: on
    PostgreSQL the upsert row-locks the position (or waits on the primary key for a concurrent
    first insert) and re-evaluates the WHERE against the winner's committed row, so of two
    workers racing on one position exactly one advances it. Unlike SELECT .. FOR UPDATE this
    also covers a position's very first record, when there is no row to lock yet. On SQLite the
    engine begins every writing transaction with ``BEGIN IMMEDIATE``, serialising writers.
    """
    # RETURNING (not rowcount, which drivers need not report for INSERT) yields the row only
    # when it was inserted or advanced.
    claimed = connection.execute(_advance_statement(connection.dialect.name), _key(position))
    return claimed.first() is not None


def claim_positions(connection: Connection, positions: Sequence[Position]) -> list[bool]:
    """``advance_position`` for consecutive messages, in order, with the same answers.

    A batch of one partition's messages costs two statements (lock and read the stored
    offset, write the last claimed one) instead of one upsert per message: at a portfolio's
    volume of signals the per-message claim was a fifth of the intervention's time. The rows
    are locked in one order (sorted) in every transaction, and held to the commit, so a
    racing worker waits exactly as it waits for ``advance_position``. A partition with no row
    yet is claimed message by message until the upsert has created (and locked) its row.
    """
    keys = sorted({(p.consumer, p.topic, p.partition) for p in positions})
    stored = {key: _locked_offset(connection, *key) for key in keys}
    advanced: dict[tuple[str, str, int], int] = {}  # claimed here, to be written at the end
    claimed: list[bool] = []
    for position in positions:
        key = (position.consumer, position.topic, position.partition)
        last = stored[key]
        if last is None:
            applies = advance_position(connection, position)
        else:
            applies = position.offset > last
            if applies:
                advanced[key] = position.offset
        if applies:
            stored[key] = position.offset
        claimed.append(applies)
    for key in sorted(advanced):
        connection.execute(_ADVANCE_TO, _key(Position(*key, advanced[key])))
    return claimed


def _key(position: Position) -> dict[str, Any]:
    return {
        "p_consumer": position.consumer,
        "p_topic": position.topic,
        "p_partition": position.partition,
        "p_offset": position.offset,
    }


_POSITION_KEY = (
    consumer_positions.c.consumer == sa.bindparam("p_consumer"),
    consumer_positions.c.topic == sa.bindparam("p_topic"),
    consumer_positions.c.partition == sa.bindparam("p_partition"),
)
_LOCKED_OFFSET = sa.select(consumer_positions.c.last_offset).where(*_POSITION_KEY).with_for_update()
_ADVANCE_TO = (
    consumer_positions.update()
    .where(*_POSITION_KEY)
    .values(last_offset=sa.bindparam("p_offset"), updated_at=sa.func.current_timestamp())
)


def _locked_offset(connection: Connection, consumer: str, topic: str, partition: int) -> int | None:
    """The stored offset, row-locked to the commit on PostgreSQL (SQLite serialises writers)."""
    value = connection.execute(
        _LOCKED_OFFSET, {"p_consumer": consumer, "p_topic": topic, "p_partition": partition}
    ).scalar_one_or_none()
    return None if value is None else int(value)


@functools.cache
def _advance_statement(dialect: str) -> sa.Executable:
    """Built once per dialect: building and hashing the construct cost more than running it."""
    insert = _insert_construct(dialect, consumer_positions).values(
        consumer=sa.bindparam("p_consumer"),
        topic=sa.bindparam("p_topic"),
        partition=sa.bindparam("p_partition"),
        last_offset=sa.bindparam("p_offset"),
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
    return statement.returning(consumer_positions.c.last_offset)


def insert_new(
    connection: Connection,
    table: sa.Table,
    key: sa.Column[Any],
    values: Sequence[dict[str, Any]],
) -> list[Any]:
    """Insert ``values``, skipping keys already stored; return the keys actually inserted.

    Ids are deterministic, so an existing key is the same fact written before: skipping it is
    what makes redelivered input idempotent, and the first write always wins.
    """
    if not values:
        return []
    statement = _insert_new_statement(connection.dialect.name, table, key)
    return list(connection.execute(statement, list(values)).scalars())


@functools.cache
def _insert_new_statement(dialect: str, table: sa.Table, key: sa.Column[Any]) -> sa.Executable:
    return (
        _insert_construct(dialect, table)
        .on_conflict_do_nothing(index_elements=[key])
        .returning(key)
    )


def insert_outcomes(connection: Connection, rows: Sequence[OutcomeRow]) -> int:
    """Insert new outcomes and queue each one for publication; return how many were new.

    Only newly inserted outcomes get a relay row, so re-recorded input is not re-published from
    SQL. Relay rows follow the order of ``rows``, which is the order the relay publishes in.
    """
    inserted = set(
        insert_new(connection, outcomes, outcomes.c.id, [outcome_values(o) for o in rows])
    )
    new_ids = [
        outcome_id for outcome_id in dict.fromkeys(o.id for o in rows) if outcome_id in inserted
    ]
    if new_ids:
        connection.execute(outcome_relay.insert(), [{"outcome_id": i} for i in new_ids])
    return len(new_ids)


def outcome_values(outcome: OutcomeRow) -> dict[str, Any]:
    return {
        "id": outcome.id,
        "subject": outcome.subject,
        "type": outcome.type,
        "time": outcome.time,
        "arm": outcome.arm,
        "payload": outcome.payload,
    }


def outcome_from(row: AnyRow) -> OutcomeRow:
    return OutcomeRow(
        id=row.id,
        subject=row.subject,
        type=row.type,
        time=row.time,
        arm=row.arm,
        payload=row.payload,
    )


def enrolment_values(row: EnrolmentRow) -> dict[str, Any]:
    allocation = Decimal(repr(row.intended_allocation)).quantize(
        _ALLOCATION_QUANTUM, rounding=ROUND_HALF_EVEN
    )
    return {
        "client_id": row.client_id,
        "loan_ids": list(row.loan_ids),
        "segment": row.segment,
        "enrolment_date": row.enrolment_date,
        "experiment_key": row.experiment_key,
        "arm": row.arm,
        "intended_allocation": allocation,
        "assignment_version": row.assignment_version,
        "assigned_at": row.assigned_at,
    }


def enrolment_from(row: AnyRow) -> EnrolmentRow:
    return EnrolmentRow(
        client_id=row.client_id,
        loan_ids=tuple(row.loan_ids),
        segment=row.segment,
        enrolment_date=row.enrolment_date,
        experiment_key=row.experiment_key,
        arm=row.arm,
        intended_allocation=float(row.intended_allocation),
        assignment_version=row.assignment_version,
        assigned_at=row.assigned_at,
    )


def select_enrolments() -> sa.Select[Any]:
    return sa.select(*enrolments.c).order_by(enrolments.c.enrolment_date, enrolments.c.client_id)


def decision_values(row: DecisionRow) -> dict[str, Any]:
    # The decisions columns are named exactly like DecisionRow's fields.
    return {field.name: getattr(row, field.name) for field in fields(DecisionRow)}


def decision_from(row: AnyRow) -> DecisionRow:
    return DecisionRow(**{field.name: getattr(row, field.name) for field in fields(DecisionRow)})


def outbox_values(row: OutboxRow) -> dict[str, Any]:
    return {
        "action_id": row.action_id,
        "request": row.request_json,
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at,
        "last_error": short_error(row.last_error),
        "sofie_action_id": row.sofie_action_id,
    }


def outbox_from(row: AnyRow) -> OutboxRow:
    return OutboxRow(
        action_id=row.action_id,
        request_json=row.request,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        sofie_action_id=row.sofie_action_id,
    )


def short_error(error: str | None) -> str | None:
    """Cut an error to the column's 500 characters (SQLite would not, PostgreSQL would fail)."""
    return None if error is None else error[:500]
