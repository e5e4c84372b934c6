"""Create consumer_positions (tracking) and outcomes.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Types are spelled out here rather than imported from ``tables.py``: a migration is a frozen
record of what was created, and must not change when the current model does.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "consumer_positions",
        sa.Column("consumer", sa.String(200), nullable=False),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("last_offset", sa.BigInteger(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.current_timestamp(),
        ),
        sa.PrimaryKeyConstraint(
            "consumer", "topic", "partition", name=op.f("pk_consumer_positions")
        ),
        sa.CheckConstraint(
            "partition >= 0", name=op.f("ck_consumer_positions_partition_non_negative")
        ),
        sa.CheckConstraint(
            "last_offset >= 0", name=op.f("ck_consumer_positions_last_offset_non_negative")
        ),
    )
    op.create_table(
        "outcomes",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("type", sa.String(128), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("arm", sa.String(32), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.current_timestamp(),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcomes")),
        sa.CheckConstraint(
            "length(subject) = 64 AND ltrim(subject, '0123456789abcdef') = ''",
            name=op.f("ck_outcomes_subject_is_pseudonym"),
        ),
    )
    op.create_index(op.f("ix_outcomes_subject_time_id"), "outcomes", ["subject", "time", "id"])
    op.create_index(op.f("ix_outcomes_time_id"), "outcomes", ["time", "id"])


def downgrade() -> None:
    op.drop_table("outcomes")
    op.drop_table("consumer_positions")
