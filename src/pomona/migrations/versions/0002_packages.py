"""package store: blobs, packages, tags, history, uploads, events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pomona.db import Key, LongText, UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "package_blobs",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=False),
        sa.Column("sha512", sa.String(length=128), nullable=False),
        sa.Column("chunk_size", sa.Integer(), nullable=False),
        sa.Column("chunks", LongText, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_used_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_package_blobs")),
        sa.UniqueConstraint("sha256", name=op.f("uq_package_blobs_sha256")),
    )
    op.create_table(
        "packages",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("filename", Key, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("uploader", sa.String(length=255), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("uploaded_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_packages")),
        sa.UniqueConstraint("filename", name=op.f("uq_packages_filename")),
    )
    op.create_index(op.f("ix_packages_sha256"), "packages", ["sha256"], unique=False)
    op.create_table(
        "package_tags",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("package_pk", sa.Integer(), nullable=False),
        sa.Column("tag", Key, nullable=False),
        sa.ForeignKeyConstraint(
            ["package_pk"],
            ["packages.pk"],
            name=op.f("fk_package_tags_package_pk_packages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_package_tags")),
        sa.UniqueConstraint("package_pk", "tag", name=op.f("uq_package_tags_package_pk")),
    )
    op.create_index(op.f("ix_package_tags_tag"), "package_tags", ["tag"], unique=False)
    op.create_table(
        "package_history",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("filename", Key, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("uploader", sa.String(length=255), nullable=False),
        sa.Column("uploaded_at", UtcDateTime(), nullable=False),
        sa.Column("superseded_at", UtcDateTime(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_package_history")),
    )
    op.create_index(
        op.f("ix_package_history_filename"), "package_history", ["filename"], unique=False
    )
    op.create_index(op.f("ix_package_history_sha256"), "package_history", ["sha256"], unique=False)
    op.create_index(
        op.f("ix_package_history_superseded_at"),
        "package_history",
        ["superseded_at"],
        unique=False,
    )
    op.create_table(
        "package_uploads",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("upload_id", sa.String(length=64), nullable=False),
        sa.Column("filename", Key, nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("metadata", LongText, nullable=False),
        sa.Column("replace", sa.Boolean(), nullable=False),
        sa.Column("uploader", sa.String(length=255), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_package_uploads")),
        sa.UniqueConstraint("upload_id", name=op.f("uq_package_uploads_upload_id")),
    )
    op.create_index(
        op.f("ix_package_uploads_updated_at"), "package_uploads", ["updated_at"], unique=False
    )
    op.create_table(
        "package_events",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("filename", Key, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("detail", LongText, nullable=True),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_package_events")),
    )
    op.create_index(
        op.f("ix_package_events_created_at"), "package_events", ["created_at"], unique=False
    )
    op.create_index(
        op.f("ix_package_events_filename"), "package_events", ["filename"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_package_events_filename"), table_name="package_events")
    op.drop_index(op.f("ix_package_events_created_at"), table_name="package_events")
    op.drop_table("package_events")
    op.drop_index(op.f("ix_package_uploads_updated_at"), table_name="package_uploads")
    op.drop_table("package_uploads")
    op.drop_index(op.f("ix_package_history_superseded_at"), table_name="package_history")
    op.drop_index(op.f("ix_package_history_sha256"), table_name="package_history")
    op.drop_index(op.f("ix_package_history_filename"), table_name="package_history")
    op.drop_table("package_history")
    op.drop_index(op.f("ix_package_tags_tag"), table_name="package_tags")
    op.drop_table("package_tags")
    op.drop_index(op.f("ix_packages_sha256"), table_name="packages")
    op.drop_table("packages")
    op.drop_table("package_blobs")
