"""titles, revisions, feed state and API tokens

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pomona.db import Key, LongText, UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", Key, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=1024), nullable=False),
        sa.Column("titles", LongText, nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_used_at", UtcDateTime(), nullable=True),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tokens_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    feed_state = op.create_table(
        "feed_state",
        sa.Column("pk", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_feed_state")),
    )
    op.bulk_insert(feed_state, [{"pk": 1, "generation": 0}])
    op.create_table(
        "title_revisions",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title_id", Key, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.String(length=1024), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("document", LongText, nullable=True),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_title_revisions")),
        sa.UniqueConstraint("title_id", "number", name=op.f("uq_title_revisions_title_id")),
    )
    op.create_table(
        "titles",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title_id", Key, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("publisher", sa.String(length=255), nullable=False),
        sa.Column("current_version", sa.String(length=255), nullable=False),
        sa.Column("last_modified", UtcDateTime(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("document", LongText, nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_titles")),
        sa.UniqueConstraint("title_id", name=op.f("uq_titles_title_id")),
    )
    op.create_index(op.f("ix_titles_generation"), "titles", ["generation"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_titles_generation"), table_name="titles")
    op.drop_table("titles")
    op.drop_table("title_revisions")
    op.drop_table("feed_state")
    op.drop_table("api_tokens")
