"""The intervention service's SQL store: effectively-once effects from at-least-once input.

A consumer hands over the input message's position (consumer, topic, partition, offset) with a
function that writes the message's effects; :meth:`InterventionRepository.run` claims the
position and runs the function in ONE transaction. After a crash the stored position says
exactly which input has had its effects, and redelivered input is recognised and changes
nothing. Background tasks (the Sofie dispatcher, the outcome relay) use the short
transactions below. Values in and out are the plain dataclasses of ``repository_rows``.

Works unchanged on PostgreSQL and SQLite (the engine from ``services.common.db.make_engine``).
A briefly unreachable database raises SQLAlchemy's ``OperationalError``; callers retry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import Engine

from services.common.db import connect_read_only
from services.intervention import repository_outbox, repository_relay
from services.intervention.repository_rows import (
    ContactRow,
    DecisionRow,
    Delivered,
    EnrolmentRow,
    ObservationRow,
    OutboxRow,
    OutboxStats,
    OutcomeRow,
    Parked,
    Position,
    RefusalRow,
    Retry,
    Settlement,
)
from services.intervention.repository_sql import (
    OUTCOME_COLUMNS,
    advance_position,
    claim_positions,
    decision_from,
    enrolment_from,
    outcome_from,
    select_enrolments,
)
from services.intervention.repository_tx import Tx
from services.intervention.tables import (
    assignment_refusals,
    consumer_positions,
    decisions,
    enrolments,
    outcomes,
)

__all__ = [
    "ContactRow",
    "DecisionRow",
    "Delivered",
    "EnrolmentRow",
    "InterventionRepository",
    "ObservationRow",
    "OutboxRow",
    "OutboxStats",
    "OutcomeRow",
    "Parked",
    "Position",
    "RefusalRow",
    "Retry",
    "Settlement",
    "Tx",
]

T = TypeVar("T")
M = TypeVar("M")


class InterventionRepository:
    """Reads and writes the intervention service's tables through a SQLAlchemy Engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        dialect = engine.dialect.name
        if dialect not in ("postgresql", "sqlite"):
            raise ValueError(f"unsupported dialect {dialect!r}")

    # One input message, one transaction

    def run(self, position: Position | None, work: Callable[[Tx], T]) -> tuple[bool, T | None]:
        """Claim ``position`` (if given), then run ``work`` in the same transaction and commit.

        Returns ``(False, None)``, running nothing, when the position is not beyond the stored
        offset for (consumer, topic, partition): re-consumed input changes nothing. Otherwise
        ``(True, work's result)``. If ``work`` raises, nothing (not even the position) commits.

        The claim comes first so that of two workers racing on one message (a rebalance) the
        loser waits for the winner's commit, then gets False without touching anything else;
        see ``repository_sql.advance_position`` for how each backend guarantees that.
        """
        with self._engine.begin() as connection:
            if position is not None and not advance_position(connection, position):
                return False, None
            tx = Tx(connection)
            try:
                return True, work(tx)
            finally:
                tx.close()

    def run_batch(
        self,
        items: Sequence[tuple[Position, M]],
        apply: Callable[[Tx, list[M]], object],
        prelude: Callable[[Tx], object] | None = None,
    ) -> list[bool]:
        """Consecutive messages in ONE transaction: claim each position, then ``apply`` the
        claimed messages, in order; returns which were claimed.

        Every message keeps its own claim (``claim_positions``), so when ``apply`` does to a
        list what the handlers do to its messages one by one, the result is exactly that of
        ``run`` one by one; but the batch pays for one commit and can write set-wise. At the
        volume of a whole portfolio's signals, a commit and five statements per message were
        the intervention's bottleneck. Any failure rolls the whole batch back, positions
        included. ``prelude`` runs first, before any claim: the place to take locks the batch
        will need, in one order for every transaction.
        """
        with self._engine.begin() as connection:
            tx = Tx(connection)
            try:
                if prelude is not None:
                    prelude(tx)
                claimed = claim_positions(connection, [position for position, _ in items])
                apply(tx, [message for (_, message), ok in zip(items, claimed, strict=True) if ok])
            finally:
                tx.close()
        return claimed

    def record(self, position: Position, outcomes: Sequence[OutcomeRow]) -> bool:
        """Store ``outcomes`` (queued for the relay) with ``position``, as one ``run``.

        False, writing nothing, for a position already recorded. Outcome ids already stored are
        skipped, not errors (ids are deterministic, so a duplicate is the same event).
        """
        applied, _ = self.run(position, lambda tx: tx.insert_outcomes(outcomes))
        return applied

    # Tracking and outcomes (readers)

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
        query = sa.select(*OUTCOME_COLUMNS).order_by(outcomes.c.time, outcomes.c.id)
        if subject is not None:
            query = query.where(outcomes.c.subject == subject)
        with connect_read_only(self._engine) as connection:
            return [outcome_from(row) for row in connection.execute(query)]

    def count_outcomes(self) -> int:
        """Number of stored outcomes."""
        query = sa.select(sa.func.count()).select_from(outcomes)
        with connect_read_only(self._engine) as connection:
            return int(connection.execute(query).scalar_one())

    # Sofie outbox: the dispatcher (see repository_outbox)

    def claim_due(self, now: datetime, limit: int, lease_s: float) -> list[OutboxRow]:
        """Lease up to ``limit`` due pending requests to the caller for ``lease_s`` seconds."""
        with self._engine.begin() as connection:
            return repository_outbox.claim_due(connection, now, limit, lease_s)

    def settle(self, settlements: Sequence[Settlement]) -> list[bool]:
        """Record how each attempt of a dispatch batch ended, in ONE transaction; for each,
        whether its row was still pending.

        One transaction per attempt made every delivery wait its own turn for SQLite's write
        lock behind the portfolio's signal batches: in a 2,000-loan year the dispatcher
        delivered four or five actions a second.
        """
        with self._engine.begin() as connection:
            return repository_outbox.settle(connection, settlements)

    def outbox_stats(self) -> OutboxStats:
        with connect_read_only(self._engine) as connection:
            return repository_outbox.outbox_stats(connection)

    def outbox_row(self, action_id: str) -> OutboxRow | None:
        with connect_read_only(self._engine) as connection:
            return repository_outbox.outbox_row(connection, action_id)

    # Outcome relay (see repository_relay)

    def pending_relay(self, limit: int) -> list[tuple[int, OutcomeRow]]:
        """Outcomes committed but not yet published, with their ``seq``, oldest first."""
        with connect_read_only(self._engine) as connection:
            return repository_relay.pending_relay(connection, limit)

    def mark_relayed(self, seqs: Sequence[int]) -> None:
        """Forget outcomes the relay has published."""
        with self._engine.begin() as connection:
            repository_relay.mark_relayed(connection, seqs)

    # Readers for tests and the report

    def decisions(self, client_id: str | None = None) -> list[DecisionRow]:
        """All decisions, or one client's, by decision time then action id."""
        query = sa.select(*decisions.c).order_by(decisions.c.decided_at, decisions.c.action_id)
        if client_id is not None:
            query = query.where(decisions.c.client_id == client_id)
        with connect_read_only(self._engine) as connection:
            return [decision_from(row) for row in connection.execute(query)]

    def decisions_by_action(self, action_ids: Sequence[str]) -> dict[str, DecisionRow]:
        """The decisions of ``action_ids`` (one query), by action id."""
        if not action_ids:
            return {}
        query = sa.select(*decisions.c).where(decisions.c.action_id.in_(list(action_ids)))
        with connect_read_only(self._engine) as connection:
            return {row.action_id: decision_from(row) for row in connection.execute(query)}

    def enrolments(self) -> list[EnrolmentRow]:
        """All enrolments, by enrolment date then client id."""
        with connect_read_only(self._engine) as connection:
            return [enrolment_from(row) for row in connection.execute(select_enrolments())]

    def arm_counts(self, experiment_key: str) -> dict[tuple[str, float], int]:
        """Enrolled clients of an experiment by (arm, stored intended allocation), for the
        running sample-ratio check."""
        table = enrolments
        query = (
            sa.select(table.c.arm, table.c.intended_allocation, sa.func.count())
            .where(table.c.experiment_key == experiment_key)
            .group_by(table.c.arm, table.c.intended_allocation)
        )
        with connect_read_only(self._engine) as connection:
            return {(str(arm), float(share)): int(n) for arm, share, n in connection.execute(query)}

    def refusals(self) -> list[RefusalRow]:
        """Refused assignment changes, in the order they were refused."""
        table = assignment_refusals
        query = sa.select(*table.c).order_by(table.c.id)
        with connect_read_only(self._engine) as connection:
            return [
                RefusalRow(
                    client_id=row.client_id,
                    experiment_key=row.experiment_key,
                    reason=row.reason,
                    requested_json=row.requested,
                    refused_at=row.refused_at,
                )
                for row in connection.execute(query)
            ]
