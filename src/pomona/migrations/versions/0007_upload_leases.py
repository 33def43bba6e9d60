"""resumable uploads keep their lease in the database, so any web process may take a piece

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pomona.db import UtcDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("package_uploads") as batch:
        batch.add_column(sa.Column("lease_holder", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("lease_expires", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("package_uploads") as batch:
        batch.drop_column("lease_expires")
        batch.drop_column("lease_holder")
