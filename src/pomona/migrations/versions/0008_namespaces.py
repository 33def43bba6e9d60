"""namespaces (publishers with their own feed); every title in one; tokens limited to some

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pomona.db import LongText, UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "namespaces",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("decorate_ids", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_namespaces")),
        sa.UniqueConstraint("slug", name=op.f("uq_namespaces_slug")),
    )
    # The server default backfills every existing title into the default namespace (the main
    # feed), so a server upgraded without creating a namespace serves what it served before.
    with op.batch_alter_table("titles") as batch:
        batch.add_column(
            sa.Column("namespace", sa.String(length=63), server_default="default", nullable=False)
        )
        batch.create_index(batch.f("ix_titles_namespace"), ["namespace"], unique=False)
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("namespaces", LongText, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("namespaces")
    with op.batch_alter_table("titles") as batch:
        batch.drop_index(batch.f("ix_titles_namespace"))
        batch.drop_column("namespace")
    op.drop_table("namespaces")
