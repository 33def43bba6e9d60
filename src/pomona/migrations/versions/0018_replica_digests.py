"""replication: a transfer keeps the MD5 and SHA-512 its sender's manifest gives

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("replication_transfers") as table:
        table.add_column(sa.Column("md5", sa.String(length=32), nullable=True))
        table.add_column(sa.Column("sha512", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("replication_transfers") as table:
        table.drop_column("sha512")
        table.drop_column("md5")
