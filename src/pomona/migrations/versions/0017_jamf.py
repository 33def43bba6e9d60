"""the Jamf Pro companion: connections, pushes and push rules

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pomona.db import Key, UtcDateTime

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jamf_connections",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=1024), nullable=False),
        sa.Column("auth", sa.String(length=16), nullable=False),
        sa.Column("principal", sa.String(length=255), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("hash_type", sa.String(length=16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("name", name=op.f("uq_jamf_connections_name")),
    )
    op.create_table(
        "jamf_pushes",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("push_id", sa.String(length=32), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("connection", sa.String(length=64), nullable=False),
        sa.Column("filename", Key, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("bytes_sent", sa.BigInteger(), nullable=False),
        sa.Column("package_id", sa.String(length=64), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=True),
        sa.Column("upload_id", sa.Text(), nullable=True),
        sa.Column("object_key", sa.Text(), nullable=True),
        sa.Column("part_size", sa.BigInteger(), nullable=True),
        sa.Column("rule", Key, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("push_id", name=op.f("uq_jamf_pushes_push_id")),
    )
    for column in ("job_id", "connection", "filename", "created_at"):
        op.create_index(f"ix_jamf_pushes_{column}", "jamf_pushes", [column])
    op.create_table(
        "jamf_rules",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tag", Key, nullable=False),
        sa.Column("connection", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("tag", "connection", name=op.f("uq_jamf_rules_tag")),
    )
    op.create_index("ix_jamf_rules_connection", "jamf_rules", ["connection"])


def downgrade() -> None:
    op.drop_table("jamf_rules")
    op.drop_table("jamf_pushes")
    op.drop_table("jamf_connections")
