"""subscriptions: titles that follow a remote definition or a version source

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pomona.db import Key, LongText, UtcDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("title_id", Key, nullable=False),
        sa.Column("namespace", sa.String(length=63), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("options", LongText, nullable=False),
        sa.Column("overrides", LongText, nullable=False),
        sa.Column("every_seconds", sa.Integer(), nullable=False),
        sa.Column("attached", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("next_check_at", UtcDateTime(), nullable=False),
        sa.Column("etag", sa.String(length=1024), nullable=True),
        sa.Column("last_modified_header", sa.String(length=255), nullable=True),
        sa.Column("upstream", LongText, nullable=True),
        sa.Column("latest_version", sa.String(length=255), nullable=True),
        sa.Column("last_checked_at", UtcDateTime(), nullable=True),
        sa.Column("last_success_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.UniqueConstraint("title_id", name=op.f("uq_subscriptions_title_id")),
    )
    op.create_index(
        op.f("ix_subscriptions_next_check_at"), "subscriptions", ["next_check_at"], unique=False
    )


def downgrade() -> None:
    op.drop_table("subscriptions")
