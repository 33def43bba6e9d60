"""people: accounts, their grants, sessions, personal tokens, second factors, sign-in failures;
the audit log says how a person signed in

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pomona.db import Key, LongText, UtcDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _account_fk() -> sa.ForeignKey:
    return sa.ForeignKey("accounts.pk", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", Key, nullable=False),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("email", sa.String(255), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("last_signin_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("username", name="uq_accounts_username"),
    )
    op.create_table(
        "account_grants",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("account_pk", sa.Integer(), _account_fk(), nullable=False),
        sa.Column("spec", Key, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.UniqueConstraint("account_pk", "spec", name="uq_account_grants_account_pk"),
    )
    op.create_table(
        "signin_failures",
        sa.Column("username", Key, primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", UtcDateTime(), nullable=False),
        sa.Column("locked_until", UtcDateTime(), nullable=True),
    )
    op.create_table(
        "account_sessions",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("public_id", sa.String(32), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("account_pk", sa.Integer(), _account_fk(), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("client", sa.String(255), nullable=True),
        sa.Column("user_agent", sa.String(255), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_seen_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("checked_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("public_id", name="uq_account_sessions_public_id"),
        sa.UniqueConstraint("secret_hash", name="uq_account_sessions_secret_hash"),
    )
    op.create_index("ix_account_sessions_account_pk", "account_sessions", ["account_pk"])
    op.create_table(
        "personal_tokens",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("account_pk", sa.Integer(), _account_fk(), nullable=False),
        sa.Column("name", Key, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.String(1024), nullable=False),
        sa.Column("titles", LongText, nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_used_at", UtcDateTime(), nullable=True),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("account_pk", "name", name="uq_personal_tokens_account_pk"),
        sa.UniqueConstraint("token_hash", name="uq_personal_tokens_token_hash"),
    )
    op.create_table(
        "account_totp",
        sa.Column("account_pk", sa.Integer(), _account_fk(), primary_key=True),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("confirmed_at", UtcDateTime(), nullable=True),
        sa.Column("recovery_hashes", LongText, nullable=False),
        sa.Column("last_step", sa.Integer(), nullable=True),
    )
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("via", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("via")
    for table in (
        "account_totp",
        "personal_tokens",
        "account_sessions",
        "signin_failures",
        "account_grants",
        "accounts",
    ):
        op.drop_table(table)
