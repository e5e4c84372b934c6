"""SQL tables of the intervention service, as SQLAlchemy Core (the domain never imports this).

The migrations under ``migrations/versions`` create these tables; a contract test compares the
migrated database with this metadata, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.type_api import _BindProcessorType, _ResultProcessorType

__all__ = [
    "JSONText",
    "UTCDateTime",
    "assignment_refusals",
    "consents",
    "consumer_positions",
    "decisions",
    "enrolments",
    "followups",
    "metadata",
    "outbox",
    "outcome_relay",
    "outcomes",
    "signal_observations",
    "watermarks",
]

#: Deterministic constraint names, identical on every backend, so later migrations can refer to
#: (and drop or alter) constraints by name.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware instant, stored in UTC and always returned aware in UTC.

    PostgreSQL keeps ``timestamptz`` natively; SQLite stores naive text, so values are converted
    to UTC first. That also makes SQLite's text ordering agree with time ordering. Naive values
    are refused: an instant without a zone is ambiguous, and guessing would corrupt event time.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: pass a timezone")
        utc = value.astimezone(UTC)
        return utc if dialect.name == "postgresql" else utc.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class JSONText(sa.types.TypeDecorator[str]):
    """A JSON document passed in and out as its exact text (byte for byte).

    The column is ``JSON`` (PostgreSQL validates it and it can be queried with ``->>``), but we
    skip SQLAlchemy's serialiser: the caller already holds the canonical JSON of an event, and
    re-serialising would change whitespace and key order, breaking byte-identical replays.
    Reads cast to text, which on PostgreSQL returns the stored ``json`` text unchanged.
    """

    impl = sa.JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> _BindProcessorType[str] | None:
        def process(value: str | None) -> str | None:
            if value is not None:
                # SQLite would accept anything; check here so both backends refuse the same input.
                json.loads(value, parse_constant=_reject_constant)
            return value

        return process

    def result_processor(
        self, dialect: Dialect, coltype: object
    ) -> _ResultProcessorType[str] | None:
        return None

    def column_expression(self, colexpr: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
        return sa.cast(colexpr, sa.Text)


consumer_positions = sa.Table(
    "consumer_positions",
    metadata,
    sa.Column("consumer", sa.String(200), primary_key=True),
    sa.Column("topic", sa.String(249), primary_key=True),  # Kafka's topic name limit
    sa.Column("partition", sa.Integer, primary_key=True),
    sa.Column("last_offset", sa.BigInteger, nullable=False),
    sa.Column(
        "updated_at", UTCDateTime, nullable=False, server_default=sa.func.current_timestamp()
    ),
    sa.CheckConstraint("partition >= 0", name="partition_non_negative"),
    sa.CheckConstraint("last_offset >= 0", name="last_offset_non_negative"),
)
"""Tracking position: the last input offset whose effects are committed, per consumer."""

outcomes = sa.Table(
    "outcomes",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("subject", sa.String(64), nullable=False),
    sa.Column("type", sa.String(128), nullable=False),
    sa.Column("time", UTCDateTime, nullable=False),
    sa.Column("arm", sa.String(32), nullable=True),
    sa.Column("payload", JSONText, nullable=False),
    sa.Column(
        "recorded_at", UTCDateTime, nullable=False, server_default=sa.func.current_timestamp()
    ),
    # Pseudonyms only: a raw client id can never be written here by mistake.
    # (`ltrim` with a character set is portable across PostgreSQL and SQLite.)
    sa.CheckConstraint(
        "length(subject) = 64 AND ltrim(subject, '0123456789abcdef') = ''",
        name="subject_is_pseudonym",
    ),
    sa.Index(None, "subject", "time", "id"),
    sa.Index(None, "time", "id"),
)
"""Outcome events of both arms, keyed by their deterministic event id."""

enrolments = sa.Table(
    "enrolments",
    metadata,
    sa.Column("client_id", sa.String(128), primary_key=True),
    sa.Column("loan_ids", sa.JSON, nullable=False),
    sa.Column("segment", sa.String(64), nullable=False),
    sa.Column("enrolment_date", sa.Date, nullable=False),
    sa.Column("experiment_key", sa.String(128), nullable=False),
    sa.Column("arm", sa.String(32), nullable=False),
    # Stored with every assignment, or a sample-ratio-mismatch check has nothing to test against.
    sa.Column("intended_allocation", sa.Numeric(6, 5), nullable=False),
    sa.Column("assignment_version", sa.String(128), nullable=False),
    sa.Column("assigned_at", UTCDateTime, nullable=False),
    sa.CheckConstraint(
        "intended_allocation >= 0 AND intended_allocation <= 1",
        name="intended_allocation_is_probability",
    ),
    sa.Index(None, "experiment_key", "segment", "arm"),
)
"""One row per enrolled client: segment fixed at enrolment and the randomised arm."""


# A 64-bit surrogate key that SQLite still treats as its rowid (only a column declared exactly
# ``INTEGER PRIMARY KEY`` is, and only that one can be AUTOINCREMENT there).
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

assignment_refusals = sa.Table(
    "assignment_refusals",
    metadata,
    sa.Column("id", _SERIAL, primary_key=True, autoincrement=True),
    sa.Column("client_id", sa.String(128), nullable=False),
    sa.Column("experiment_key", sa.String(128), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("requested", JSONText, nullable=False),
    sa.Column("refused_at", UTCDateTime, nullable=False),
    sa.Index(None, "client_id"),
)
"""Audit of refused attempts to change a client's arm or segment (an assignment is final)."""

consents = sa.Table(
    "consents",
    metadata,
    sa.Column("client_id", sa.String(128), primary_key=True),
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("consent", sa.Boolean, nullable=False),
    # Event time of the preference, so an older event arriving late cannot undo a newer one.
    sa.Column("effective_at", UTCDateTime, nullable=False),
)
"""The latest contact preference per client and channel."""

signal_observations = sa.Table(
    "signal_observations",
    metadata,
    sa.Column("signal_id", sa.String(128), primary_key=True),
    sa.Column("client_id", sa.String(128), nullable=False),
    sa.Column("loan_id", sa.String(128), nullable=False),
    sa.Column("signal_type", sa.String(64), nullable=False),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("dpd", sa.Integer, nullable=False),
    sa.Column("signal_time", UTCDateTime, nullable=False),
    sa.CheckConstraint("dpd >= 0", name="dpd_non_negative"),
    sa.Index(None, "client_id", "business_date", "signal_id"),
)
"""Every arrears signal seen per client (internal ids): the input of the follow-up summary."""

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("action_id", sa.String(128), primary_key=True),
    sa.Column("client_id", sa.String(128), nullable=False),
    sa.Column("arm", sa.String(32), nullable=False),
    sa.Column("signal_id", sa.String(128), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("action", sa.String(128), nullable=False),
    sa.Column("lever", sa.String(128), nullable=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("reason", sa.String(64), nullable=True),
    sa.Column("deferred_reason", sa.String(64), nullable=True),
    sa.Column("deliver_after", UTCDateTime, nullable=True),
    sa.Column("playbook_version", sa.String(128), nullable=False),
    sa.Column("decided_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("arm IN ('treatment', 'control')", name="arm_known"),
    sa.CheckConstraint("kind IN ('sofie', 'bank_process')", name="kind_known"),
    sa.CheckConstraint(
        "status IN ('planned', 'shadow', 'suppressed', 'bank_process')", name="status_known"
    ),
    # The analysts get a reason code with every suppression, never an unexplained gap.
    sa.CheckConstraint(
        "status <> 'suppressed' OR reason IS NOT NULL", name="suppressed_has_reason"
    ),
    sa.CheckConstraint(
        "status = 'suppressed' OR deliver_after IS NOT NULL", name="scheduled_has_deliver_after"
    ),
    sa.Index(None, "client_id", "deliver_after"),
)
"""Every playbook decision of both arms; the contact policy counts past contacts from here."""

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("action_id", sa.String(128), sa.ForeignKey(decisions.c.action_id), primary_key=True),
    sa.Column("request", JSONText, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    # Wall clock: when a dispatcher may (re)try, or when its lease on an in-flight row ends.
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("last_error", sa.String(500), nullable=True),
    sa.Column("sofie_action_id", sa.String(128), nullable=True),
    sa.Column(
        "created_at", UTCDateTime, nullable=False, server_default=sa.func.current_timestamp()
    ),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.CheckConstraint("status IN ('pending', 'delivered', 'parked')", name="status_known"),
    sa.CheckConstraint("attempts >= 0", name="attempts_non_negative"),
    sa.CheckConstraint(
        "status <> 'delivered' OR delivered_at IS NOT NULL", name="delivered_has_delivered_at"
    ),
    sa.Index(None, "status", "next_attempt_at"),
)
"""Transactional outbox: Sofie requests committed with their decision, sent by a dispatcher."""

watermarks = sa.Table(
    "watermarks",
    metadata,
    sa.Column("partition", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.CheckConstraint("partition >= 0", name="partition_non_negative"),
)
"""The detector's business-date progress per signals partition (only ever advances)."""

followups = sa.Table(
    "followups",
    metadata,
    sa.Column("client_id", sa.String(128), sa.ForeignKey(enrolments.c.client_id), primary_key=True),
    sa.Column("closed_on", sa.Date, nullable=False),
    sa.Column("censored", sa.Boolean, nullable=False),
    sa.Column("outcome_id", sa.String(128), nullable=False),
)
"""Enrolments whose follow-up is closed, with the ``followup_closed`` outcome that closed it."""

outcome_relay = sa.Table(
    "outcome_relay",
    metadata,
    sa.Column("seq", _SERIAL, primary_key=True, autoincrement=True),
    sa.Column(
        "outcome_id", sa.String(128), sa.ForeignKey(outcomes.c.id), nullable=False, unique=True
    ),
    # Without AUTOINCREMENT SQLite reuses the highest seq once it is deleted; a relay that then
    # deletes "its" published seq could delete a newer, unpublished row instead.
    sqlite_autoincrement=True,
)
"""Publication outbox: outcomes committed in SQL, not yet published to Kafka, in commit order."""
