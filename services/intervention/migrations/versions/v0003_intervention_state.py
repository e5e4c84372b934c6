"""Create the intervention service's state: refusals, consents, observations, decisions, outbox,
watermarks, follow-ups and the outcome relay.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Types are spelled out (see 0001). ``outcome_relay.seq`` is declared exactly ``INTEGER PRIMARY KEY
AUTOINCREMENT`` on SQLite so published sequence numbers are never reused there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "assignment_refusals",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("experiment_key", sa.String(128), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("requested", sa.JSON(), nullable=False),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_refusals")),
    )
    op.create_index(op.f("ix_assignment_refusals_client_id"), "assignment_refusals", ["client_id"])
    op.create_table(
        "consents",
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "channel", name=op.f("pk_consents")),
    )
    op.create_table(
        "signal_observations",
        sa.Column("signal_id", sa.String(128), nullable=False),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("loan_id", sa.String(128), nullable=False),
        sa.Column("signal_type", sa.String(64), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("dpd", sa.Integer(), nullable=False),
        sa.Column("signal_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("signal_id", name=op.f("pk_signal_observations")),
        sa.CheckConstraint("dpd >= 0", name=op.f("ck_signal_observations_dpd_non_negative")),
    )
    op.create_index(
        op.f("ix_signal_observations_client_id_business_date_signal_id"),
        "signal_observations",
        ["client_id", "business_date", "signal_id"],
    )
    op.create_table(
        "decisions",
        sa.Column("action_id", sa.String(128), nullable=False),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("arm", sa.String(32), nullable=False),
        sa.Column("signal_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("action", sa.String(128), nullable=False),
        sa.Column("lever", sa.String(128), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("deferred_reason", sa.String(64), nullable=True),
        sa.Column("deliver_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("playbook_version", sa.String(128), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("action_id", name=op.f("pk_decisions")),
        sa.CheckConstraint("arm IN ('treatment', 'control')", name=op.f("ck_decisions_arm_known")),
        sa.CheckConstraint(
            "kind IN ('sofie', 'bank_process')", name=op.f("ck_decisions_kind_known")
        ),
        sa.CheckConstraint(
            "status IN ('planned', 'shadow', 'suppressed', 'bank_process')",
            name=op.f("ck_decisions_status_known"),
        ),
        sa.CheckConstraint(
            "status <> 'suppressed' OR reason IS NOT NULL",
            name=op.f("ck_decisions_suppressed_has_reason"),
        ),
        sa.CheckConstraint(
            "status = 'suppressed' OR deliver_after IS NOT NULL",
            name=op.f("ck_decisions_scheduled_has_deliver_after"),
        ),
    )
    op.create_index(
        op.f("ix_decisions_client_id_deliver_after"), "decisions", ["client_id", "deliver_after"]
    )
    op.create_table(
        "outbox",
        sa.Column("action_id", sa.String(128), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("sofie_action_id", sa.String(128), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.current_timestamp(),
        ),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("action_id", name=op.f("pk_outbox")),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["decisions.action_id"],
            name=op.f("fk_outbox_action_id_decisions"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'parked')", name=op.f("ck_outbox_status_known")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_attempts_non_negative")),
        sa.CheckConstraint(
            "status <> 'delivered' OR delivered_at IS NOT NULL",
            name=op.f("ck_outbox_delivered_has_delivered_at"),
        ),
    )
    op.create_index(
        op.f("ix_outbox_status_next_attempt_at"), "outbox", ["status", "next_attempt_at"]
    )
    op.create_table(
        "watermarks",
        sa.Column("partition", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("partition", name=op.f("pk_watermarks")),
        sa.CheckConstraint("partition >= 0", name=op.f("ck_watermarks_partition_non_negative")),
    )
    op.create_table(
        "followups",
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=False),
        sa.Column("censored", sa.Boolean(), nullable=False),
        sa.Column("outcome_id", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_followups")),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["enrolments.client_id"],
            name=op.f("fk_followups_client_id_enrolments"),
        ),
    )
    op.create_table(
        "outcome_relay",
        sa.Column("seq", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("outcome_id", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outcome_relay")),
        sa.UniqueConstraint("outcome_id", name=op.f("uq_outcome_relay_outcome_id")),
        sa.ForeignKeyConstraint(
            ["outcome_id"], ["outcomes.id"], name=op.f("fk_outcome_relay_outcome_id_outcomes")
        ),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("outcome_relay")
    op.drop_table("followups")
    op.drop_table("watermarks")
    op.drop_table("outbox")
    op.drop_table("decisions")
    op.drop_table("signal_observations")
    op.drop_table("consents")
    op.drop_table("assignment_refusals")
