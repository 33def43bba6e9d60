"""self-service sign-up and password reset by email: single-use mail tokens, an account's
verified email, and the rate limits' counted requests

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pomona.db import UtcDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("email_verified_at", UtcDateTime(), nullable=True))
    op.create_table(
        "mail_tokens",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "account_pk",
            sa.Integer(),
            sa.ForeignKey("accounts.pk", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("used_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_mail_tokens_token_hash"),
    )
    op.create_index("ix_mail_tokens_account_pk", "mail_tokens", ["account_pk"])
    op.create_table(
        "rate_hits",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("bucket", sa.String(255), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_rate_hits_bucket_at", "rate_hits", ["bucket", "at"])


def downgrade() -> None:
    op.drop_table("rate_hits")
    op.drop_table("mail_tokens")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("email_verified_at")
