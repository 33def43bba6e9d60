"""jobs record the kind of error they failed with, not an HTTP status

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    410: "gone",
    412: "precondition_failed",
    413: "too_large",
    422: "invalid",
    500: "internal",
    503: "unavailable",
}


def upgrade() -> None:
    op.add_column("jobs", sa.Column("error_kind", sa.String(length=32), nullable=True))
    jobs = sa.table("jobs", sa.column("error_status", sa.Integer), sa.column("error_kind"))
    for status, kind in KINDS.items():
        op.execute(jobs.update().where(jobs.c.error_status == status).values(error_kind=kind))
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("error_status")


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("error_status", sa.Integer(), nullable=True))
    jobs = sa.table("jobs", sa.column("error_status", sa.Integer), sa.column("error_kind"))
    for status, kind in KINDS.items():
        op.execute(jobs.update().where(jobs.c.error_kind == kind).values(error_status=status))
    op.drop_column("jobs", "error_kind")
