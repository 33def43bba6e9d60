"""job queue leases, package scrub state, pending remote publications

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pomona.db import Key, LongText, UtcDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "queue_leases",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("message", LongText, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("worker", sa.String(length=255), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_queue_leases")),
        sa.UniqueConstraint("task_id", name=op.f("uq_queue_leases_task_id")),
    )
    op.create_index(
        op.f("ix_queue_leases_expires_at"), "queue_leases", ["expires_at"], unique=False
    )
    op.create_table(
        "package_pending",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pending_id", sa.String(length=32), nullable=False),
        sa.Column("filename", Key, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("replace", sa.Boolean(), nullable=False),
        sa.Column("uploader", sa.String(length=255), nullable=False),
        sa.Column("digests", LongText, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_package_pending")),
        sa.UniqueConstraint("pending_id", name=op.f("uq_package_pending_pending_id")),
    )
    op.create_index(
        op.f("ix_package_pending_created_at"), "package_pending", ["created_at"], unique=False
    )
    with op.batch_alter_table("package_blobs") as batch:
        batch.add_column(sa.Column("verified_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("quarantined_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("quarantine_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("package_blobs") as batch:
        batch.drop_column("quarantine_reason")
        batch.drop_column("quarantined_at")
        batch.drop_column("verified_at")
    op.drop_index(op.f("ix_package_pending_created_at"), table_name="package_pending")
    op.drop_table("package_pending")
    op.drop_index(op.f("ix_queue_leases_expires_at"), table_name="queue_leases")
    op.drop_table("queue_leases")
