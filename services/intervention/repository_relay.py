"""The outcome relay's side of the publication outbox: read queued outcomes, then drop them.

The relay publishes what ``pending_relay`` returns, in ``seq`` order, and only then calls
``mark_relayed``; a crash in between publishes again (at-least-once; ids are deterministic, so
consumers dedupe). Rows are deleted by their own ``seq`` rather than "everything below a
high-water mark": on PostgreSQL a lower ``seq`` can commit after a higher one, and a
high-water mark would skip it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import Connection

from services.intervention.repository_rows import OutcomeRow
from services.intervention.repository_sql import OUTCOME_COLUMNS, outcome_from
from services.intervention.tables import outcome_relay, outcomes

__all__ = ["mark_relayed", "pending_relay"]


def pending_relay(connection: Connection, limit: int) -> list[tuple[int, OutcomeRow]]:
    """Up to ``limit`` queued outcomes with their ``seq``, oldest first."""
    query = (
        sa.select(outcome_relay.c.seq, *OUTCOME_COLUMNS)
        .join(outcomes, outcomes.c.id == outcome_relay.c.outcome_id)
        .order_by(outcome_relay.c.seq)
        .limit(limit)
    )
    return [(int(row.seq), outcome_from(row)) for row in connection.execute(query)]


def mark_relayed(connection: Connection, seqs: Sequence[int]) -> None:
    """Forget published outcomes (unknown or already deleted seqs are ignored)."""
    if seqs:
        connection.execute(outcome_relay.delete().where(outcome_relay.c.seq.in_(list(seqs))))
