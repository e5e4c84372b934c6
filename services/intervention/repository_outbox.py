"""The Sofie outbox's dispatcher side: claim due requests, then record how each attempt ended.

Each function runs in its own short transaction (the caller's ``engine.begin()``) and never
while an HTTP call is in flight: a claim sets a lease (``next_attempt_at = now + lease``) and
commits, so a dispatcher that dies mid-call only delays its rows until the lease runs out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Connection

from services.intervention.repository_rows import (
    Delivered,
    OutboxRow,
    OutboxStats,
    OutcomeRow,
    Parked,
    Retry,
    Settlement,
)
from services.intervention.repository_sql import (
    OUTBOX_COLUMNS,
    insert_outcomes,
    outbox_from,
    short_error,
)
from services.intervention.tables import outbox

__all__ = [
    "claim_due",
    "mark_delivered",
    "mark_parked",
    "mark_retry",
    "outbox_row",
    "outbox_stats",
    "settle",
]

_PENDING = outbox.c.status == "pending"


def claim_due(connection: Connection, now: datetime, limit: int, lease_s: float) -> list[OutboxRow]:
    """Lease up to ``limit`` due pending rows to this dispatcher, oldest due first.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` passes over rows another dispatcher is claiming, and
    a row claimed and committed meanwhile fails the re-checked ``next_attempt_at <= now``, so
    two dispatchers never get the same row. SQLite ignores FOR UPDATE; there the engine's
    ``BEGIN IMMEDIATE`` runs claims one after another, which gives the same guarantee.
    Returned rows show the lease end as ``next_attempt_at``.
    """
    if limit <= 0:
        return []
    due = (
        sa.select(outbox.c.action_id)
        .where(_PENDING, outbox.c.next_attempt_at <= now)
        .order_by(outbox.c.next_attempt_at, outbox.c.action_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(connection.execute(due).scalars())
    if not ids:
        return []
    lease = (
        outbox.update()
        .where(outbox.c.action_id.in_(ids))
        .values(next_attempt_at=now + timedelta(seconds=lease_s))
        .returning(*OUTBOX_COLUMNS)
    )
    claimed = {row.action_id: outbox_from(row) for row in connection.execute(lease)}
    return [claimed[action_id] for action_id in ids]


def mark_delivered(
    connection: Connection,
    action_id: str,
    sofie_action_id: str,
    delivered_at: datetime,
    outcomes: Sequence[OutcomeRow],
) -> bool:
    """Record Sofie's acceptance and its outcomes once; False (writing nothing) if not pending.

    The status guard makes a second report of the same delivery (a dispatcher whose lease
    expired while another one also sent it) a no-op, so ``action_sent`` is logged exactly once.
    ``attempts`` counts this successful attempt too.
    """
    statement = (
        outbox.update()
        .where(outbox.c.action_id == action_id, _PENDING)
        .values(
            status="delivered",
            sofie_action_id=sofie_action_id,
            delivered_at=delivered_at,
            attempts=outbox.c.attempts + 1,
        )
        .returning(outbox.c.action_id)
    )
    if connection.execute(statement).first() is None:
        return False
    insert_outcomes(connection, outcomes)
    return True


def mark_retry(
    connection: Connection,
    action_id: str,
    attempts: int,
    next_attempt_at: datetime,
    error: str,
) -> bool:
    """Schedule another attempt; a row no longer pending (delivered or parked) is left alone
    (False)."""
    statement = (
        outbox.update()
        .where(outbox.c.action_id == action_id, _PENDING)
        .values(attempts=attempts, next_attempt_at=next_attempt_at, last_error=short_error(error))
        .returning(outbox.c.action_id)
    )
    return connection.execute(statement).first() is not None


def mark_parked(connection: Connection, action_id: str, attempts: int, error: str) -> bool:
    """Give up on a request (for an operator to look at); only a pending row is parked."""
    statement = (
        outbox.update()
        .where(outbox.c.action_id == action_id, _PENDING)
        .values(status="parked", attempts=attempts, last_error=short_error(error))
        .returning(outbox.c.action_id)
    )
    return connection.execute(statement).first() is not None


def settle(connection: Connection, settlements: Sequence[Settlement]) -> list[bool]:
    """Record how each attempt ended (``mark_delivered``, ``mark_retry``, ``mark_parked``);
    for each, whether its row was still pending."""
    return [_settle_one(connection, settlement) for settlement in settlements]


def _settle_one(connection: Connection, settlement: Settlement) -> bool:
    match settlement:
        case Delivered(action_id, sofie_action_id, delivered_at, outcomes):
            return mark_delivered(connection, action_id, sofie_action_id, delivered_at, outcomes)
        case Retry(action_id, attempts, next_attempt_at, error):
            return mark_retry(connection, action_id, attempts, next_attempt_at, error)
        case Parked(action_id, attempts, error):
            return mark_parked(connection, action_id, attempts, error)


def outbox_stats(connection: Connection) -> OutboxStats:
    query = sa.select(outbox.c.status, sa.func.count(), sa.func.min(outbox.c.created_at)).group_by(
        outbox.c.status
    )
    rows = {status: (int(count), oldest) for status, count, oldest in connection.execute(query)}
    pending, oldest_pending = rows.get("pending", (0, None))
    return OutboxStats(
        pending=pending,
        parked=rows.get("parked", (0, None))[0],
        delivered=rows.get("delivered", (0, None))[0],
        oldest_pending_created_at=oldest_pending,
    )


def outbox_row(connection: Connection, action_id: str) -> OutboxRow | None:
    query = sa.select(*OUTBOX_COLUMNS).where(outbox.c.action_id == action_id)
    row = connection.execute(query).first()
    return None if row is None else outbox_from(row)
