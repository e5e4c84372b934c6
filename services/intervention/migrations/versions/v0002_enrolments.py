"""Create enrolments.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "enrolments",
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("loan_ids", sa.JSON(), nullable=False),
        sa.Column("segment", sa.String(64), nullable=False),
        sa.Column("enrolment_date", sa.Date(), nullable=False),
        sa.Column("experiment_key", sa.String(128), nullable=False),
        sa.Column("arm", sa.String(32), nullable=False),
        sa.Column("intended_allocation", sa.Numeric(6, 5), nullable=False),
        sa.Column("assignment_version", sa.String(128), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_enrolments")),
        sa.CheckConstraint(
            "intended_allocation >= 0 AND intended_allocation <= 1",
            name=op.f("ck_enrolments_intended_allocation_is_probability"),
        ),
    )
    op.create_index(
        op.f("ix_enrolments_experiment_key_segment_arm"),
        "enrolments",
        ["experiment_key", "segment", "arm"],
    )


def downgrade() -> None:
    op.drop_table("enrolments")
