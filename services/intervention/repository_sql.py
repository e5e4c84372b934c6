"""SQL building blocks shared by the repository modules: upserts, the position claim, mappings.

Everything here runs on a Connection inside a transaction the caller owns, so the pieces compose
into one commit (a position, decisions, outbox rows and outcomes together).
"""

from __future__ import annotations

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
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def advance_position(connection: Connection, position: Position) -> bool:
    """Claim ``position``: True only if it was new or beyond the stored offset.

    One ``INSERT .. ON CONFLICT DO UPDATE .. WHERE last_offset < new .. RETURNING``: on
    PostgreSQL the upsert row-locks the position (or waits on the primary key for a concurrent
    first insert) and re-evaluates the WHERE against the winner's committed row, so of two
    workers racing on one position exactly one advances it. Unlike SELECT .. FOR UPDATE this
    also covers a position's very first record, when there is no row to lock yet. On SQLite the
    engine begins every writing transaction with ``BEGIN IMMEDIATE``, serialising writers.
    """
    insert = insert_for(connection, consumer_positions).values(
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
    statement = (
        insert_for(connection, table).on_conflict_do_nothing(index_elements=[key]).returning(key)
    )
    return list(connection.execute(statement, list(values)).scalars())


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
