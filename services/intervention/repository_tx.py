"""``Tx``: what the intervention's handlers may read and write inside one ``run`` transaction.

A handler gets a Tx for exactly one input message: whatever it writes commits together with
that message's tracking position, or not at all. Every insert is idempotent (keys are
deterministic ids), so a message handled again after a crash changes nothing twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from services.intervention.repository_rows import (
    ContactRow,
    DecisionRow,
    EnrolmentRow,
    ObservationRow,
    OutboxRow,
    OutcomeRow,
    RefusalRow,
)
from services.intervention.repository_sql import (
    decision_values,
    enrolment_from,
    enrolment_values,
    insert_for,
    insert_new,
    insert_outcomes,
    outbox_values,
    select_enrolments,
)
from services.intervention.tables import (
    assignment_refusals,
    consents,
    decisions,
    enrolments,
    followups,
    outbox,
    signal_observations,
    watermarks,
)

__all__ = ["Tx"]

#: Decisions that count as a contact: shadows too, so the control arm's bookkeeping (what it
#: *would* have received) follows the same contact policy as the treatment arm.
_CONTACT_STATUSES = ("planned", "shadow")


class Tx:
    """One open transaction; only valid inside ``InterventionRepository.run``."""

    def __init__(self, connection: Connection) -> None:
        self._connection: Connection | None = connection
        self._locked: set[str] = set()

    def close(self) -> None:
        """Called by ``run`` when the transaction ends; later use is a bug and raises."""
        self._connection = None

    @property
    def _conn(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("Tx used outside its InterventionRepository.run transaction")
        return self._connection

    def lock_client(self, client_id: str) -> None:
        """Serialise this transaction with every other one that locks the same client.

        Enrolments and signals arrive on different topics and are handled concurrently: without
        the lock, a signal's transaction could miss an enrolment that is committing while the
        enrolment's transaction misses the signal (write skew), and neither would decide on
        it.
        """
        self.lock_clients([client_id])

    def lock_clients(self, client_ids: Iterable[str]) -> None:
        """``lock_client`` for many clients, in sorted order, each once per transaction.

        One order for every transaction: two batches that share clients wait for each other
        instead of deadlocking.
        """
        for client_id in sorted(set(client_ids) - self._locked):
            self._advisory_lock(f"client/{client_id}")
            self._locked.add(client_id)

    def lock_watermarks(self) -> None:
        """Serialise this transaction with every other one that advances a watermark.

        Each worker advances its own partitions' watermarks and then reads them all to find the
        day every partition has closed. Two such transactions committing concurrently under
        READ COMMITTED can each miss the other's advance (write skew): neither sees the last
        partition reach the pilot's end, no later marker comes, and the follow-ups stay open.
        Held until commit, so the next reader sees this transaction's watermark. Re-entrant.
        """
        self._advisory_lock("watermarks")

    def _advisory_lock(self, name: str) -> None:
        """PostgreSQL: a transaction-scoped advisory lock on a 63-bit hash of ``name``.
        SQLite: nothing to do, its writing transactions are serialised already."""
        if self._conn.dialect.name != "postgresql":
            return
        digest = hashlib.sha256(name.encode("utf-8")).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        self._conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    # Enrolment and assignment

    def get_enrolment(self, client_id: str) -> EnrolmentRow | None:
        row = self._conn.execute(_ENROLMENT, {"client_id": client_id}).first()
        return None if row is None else enrolment_from(row)

    def get_enrolments(self, client_ids: Iterable[str]) -> dict[str, EnrolmentRow]:
        """The enrolled ones of ``client_ids``, by client id (one query)."""
        wanted = list(set(client_ids))
        if not wanted:
            return {}
        rows = self._conn.execute(_ENROLMENTS, {"client_ids": wanted})
        return {row.client_id: enrolment_from(row) for row in rows}

    def insert_enrolment(self, row: EnrolmentRow) -> bool:
        """Enrol a client; False (writing nothing) when the client is already enrolled.

        An existing assignment always wins: re-randomising would break the experiment.
        """
        values = [enrolment_values(row)]
        return bool(insert_new(self._conn, enrolments, enrolments.c.client_id, values))

    def insert_refusal(self, row: RefusalRow) -> None:
        """Audit an attempt to change an arm or segment that was refused."""
        self._conn.execute(
            assignment_refusals.insert().values(
                client_id=row.client_id,
                experiment_key=row.experiment_key,
                reason=row.reason,
                requested=row.requested_json,
                refused_at=row.refused_at,
            )
        )

    # Consent

    def consents(self, client_id: str) -> dict[str, bool]:
        """The client's current consent per channel (channels never set are absent)."""
        rows = self._conn.execute(_CONSENTS, {"client_id": client_id})
        return {row.channel: bool(row.consent) for row in rows}

    def set_consent(
        self, client_id: str, channel: str, consent: bool, effective_at: datetime
    ) -> bool:
        """Store a preference unless a newer one is stored; True if it was applied.

        Ordered by event time, not arrival: an older preference delivered late is ignored, and
        of two with the same ``effective_at`` the later-processed one wins.
        """
        insert = insert_for(self._conn, consents).values(
            client_id=client_id, channel=channel, consent=consent, effective_at=effective_at
        )
        statement = insert.on_conflict_do_update(
            index_elements=[consents.c.client_id, consents.c.channel],
            set_={"consent": insert.excluded.consent, "effective_at": insert.excluded.effective_at},
            where=consents.c.effective_at <= insert.excluded.effective_at,
        )
        return self._conn.execute(statement.returning(consents.c.channel)).first() is not None

    # Signals

    def insert_observation(self, row: ObservationRow) -> bool:
        """Remember a signal for the follow-up summary; False if it was seen before."""
        return bool(self.insert_observations([row]))

    def insert_observations(self, rows: Sequence[ObservationRow]) -> set[str]:
        """Remember signals (one statement); the ids of those not seen before."""
        values = [
            {
                "signal_id": row.signal_id,
                "client_id": row.client_id,
                "loan_id": row.loan_id,
                "signal_type": row.signal_type,
                "business_date": row.business_date,
                "dpd": row.dpd,
                "signal_time": row.signal_time,
            }
            for row in rows
        ]
        table = signal_observations
        return set(insert_new(self._conn, table, table.c.signal_id, values))

    def observations(self, client_id: str) -> list[ObservationRow]:
        """The client's signals by business date, then signal id (a total, replayable order)."""
        return [
            ObservationRow(
                signal_id=row.signal_id,
                client_id=row.client_id,
                loan_id=row.loan_id,
                signal_type=row.signal_type,
                business_date=row.business_date,
                dpd=row.dpd,
                signal_time=row.signal_time,
            )
            for row in self._conn.execute(_OBSERVATIONS, {"client_id": client_id})
        ]

    # Decisions and the outbox

    def contacts(self, client_id: str) -> list[ContactRow]:
        """Sofie contacts made or scheduled for the client (shadows included), by time."""
        return [
            ContactRow(deliver_at=row.deliver_after, channel=row.channel, action=row.action)
            for row in self._conn.execute(_CONTACTS, {"client_id": client_id})
        ]

    def insert_decisions(self, rows: Sequence[DecisionRow]) -> int:
        """Record decisions not recorded before; return how many were new."""
        values = [decision_values(row) for row in rows]
        return len(insert_new(self._conn, decisions, decisions.c.action_id, values))

    def enqueue(self, rows: Sequence[OutboxRow]) -> int:
        """Queue Sofie requests (their decisions must be inserted first); return how many new.

        Committed with the decision, so a crash can neither send an unrecorded action nor lose
        a recorded one; the dispatcher sends it later, at least once.
        """
        values = [outbox_values(row) for row in rows]
        return len(insert_new(self._conn, outbox, outbox.c.action_id, values))

    # Outcomes

    def insert_outcomes(self, rows: Sequence[OutcomeRow]) -> int:
        """Store new outcomes and queue them for Kafka (see ``insert_outcomes``); count new."""
        return insert_outcomes(self._conn, rows)

    # Watermarks and follow-up

    def advance_watermark(self, partition: int, business_date: date) -> bool:
        """Move a signals partition's business date forward; False if not later than stored."""
        insert = insert_for(self._conn, watermarks).values(
            partition=partition, business_date=business_date
        )
        statement = insert.on_conflict_do_update(
            index_elements=[watermarks.c.partition],
            set_={"business_date": insert.excluded.business_date},
            where=watermarks.c.business_date < insert.excluded.business_date,
        )
        return self._conn.execute(statement.returning(watermarks.c.partition)).first() is not None

    def watermarks(self) -> dict[int, date]:
        query = sa.select(watermarks.c.partition, watermarks.c.business_date)
        return {row.partition: row.business_date for row in self._conn.execute(query)}

    def open_followups(self, ends_on_or_before: date, period_days: int = 365) -> list[EnrolmentRow]:
        """Open enrolments whose follow-up period has ended by ``ends_on_or_before``.

        The end is ``enrolment_date + period_days``; the cut-off is computed here rather than
        with date arithmetic in SQL, which PostgreSQL and SQLite spell differently.
        """
        latest_enrolment = ends_on_or_before - timedelta(days=period_days)
        query = _without_followup(select_enrolments()).where(
            enrolments.c.enrolment_date <= latest_enrolment
        )
        return [enrolment_from(row) for row in self._conn.execute(query)]

    def open_enrolments(self) -> list[EnrolmentRow]:
        """Every enrolment not yet closed (to censor at the end of the pilot)."""
        return [
            enrolment_from(row)
            for row in self._conn.execute(_without_followup(select_enrolments()))
        ]

    def close_followup(
        self, client_id: str, closed_on: date, censored: bool, outcome_id: str
    ) -> bool:
        """Close a client's follow-up once; False if it was already closed."""
        values = {
            "client_id": client_id,
            "closed_on": closed_on,
            "censored": censored,
            "outcome_id": outcome_id,
        }
        return bool(insert_new(self._conn, followups, followups.c.client_id, [values]))


# Built once: building and hashing a statement cost more than running it (per decision, these
# ran thousands of times in a pilot year).
_CONSENTS = sa.select(consents.c.channel, consents.c.consent).where(
    consents.c.client_id == sa.bindparam("client_id")
)
_OBSERVATIONS = (
    sa.select(*signal_observations.c)
    .where(signal_observations.c.client_id == sa.bindparam("client_id"))
    .order_by(signal_observations.c.business_date, signal_observations.c.signal_id)
)
_CONTACTS = (
    sa.select(decisions.c.deliver_after, decisions.c.channel, decisions.c.action)
    .where(
        decisions.c.client_id == sa.bindparam("client_id"),
        decisions.c.kind == "sofie",
        decisions.c.status.in_(_CONTACT_STATUSES),
    )
    .order_by(decisions.c.deliver_after, decisions.c.action_id)
)
_ENROLMENT = sa.select(*enrolments.c).where(enrolments.c.client_id == sa.bindparam("client_id"))
_ENROLMENTS = sa.select(*enrolments.c).where(
    enrolments.c.client_id.in_(sa.bindparam("client_ids", expanding=True))
)


def _without_followup(query: sa.Select[Any]) -> sa.Select[Any]:
    closed = sa.select(followups.c.client_id).where(followups.c.client_id == enrolments.c.client_id)
    return query.where(~closed.exists())
