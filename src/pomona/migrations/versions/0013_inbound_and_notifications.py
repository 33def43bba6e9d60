"""Jamf Pro webhooks in (sources, deliveries) and email notifications (subscriptions, the
dispatcher's cursor, one record per event and person mailed)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pomona.db import Key, LongText, UtcDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_sources",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", Key, nullable=False),
        sa.Column("auth", sa.String(length=16), nullable=False),
        sa.Column("allow_unauthenticated", sa.Boolean(), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("headers", LongText, nullable=True),
        sa.Column("rules", LongText, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("last_received_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("name", name=op.f("uq_inbound_sources_name")),
    )
    op.create_table(
        "inbound_deliveries",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "source_pk",
            sa.Integer(),
            sa.ForeignKey(
                "inbound_sources.pk",
                ondelete="CASCADE",
                name=op.f("fk_inbound_deliveries_source_pk_inbound_sources"),
            ),
            nullable=False,
        ),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("webhook_event", sa.String(length=64), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=True),
        sa.Column("webhook_name", sa.String(length=255), nullable=True),
        sa.Column("event_timestamp", UtcDateTime(), nullable=True),
        sa.Column("content_type", sa.String(length=16), nullable=False),
        sa.Column("body", LongText, nullable=False),
        sa.Column("client", sa.String(length=255), nullable=True),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("processed_at", UtcDateTime(), nullable=True),
        sa.Column("outcome", LongText, nullable=True),
    )
    for column in ("source_pk", "received_at", "webhook_event", "status"):
        op.create_index(f"ix_inbound_deliveries_{column}", "inbound_deliveries", [column])

    def account() -> sa.Column[int]:
        return sa.Column(
            "account_pk",
            sa.Integer(),
            sa.ForeignKey(
                "accounts.pk", ondelete="CASCADE", name=op.f(f"fk_{table}_account_pk_accounts")
            ),
            nullable=False,
        )

    table = "notification_subscriptions"
    op.create_table(
        table,
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        account(),
        sa.Column("pattern", sa.String(length=64), nullable=False),
        sa.Column("namespace", sa.String(length=64), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index(f"ix_{table}_account_pk", table, ["account_pk"])
    table = "notification_deliveries"
    op.create_table(
        table,
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event_pk", sa.Integer(), nullable=False),
        account(),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("queued_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.Column("skipped", sa.String(length=255), nullable=True),
        sa.UniqueConstraint("event_pk", "account_pk", name=op.f(f"uq_{table}_event_pk")),
    )
    op.create_index(f"ix_{table}_account_pk", table, ["account_pk"])
    op.create_index(f"ix_{table}_sent_at", table, ["sent_at"])


def downgrade() -> None:
    op.drop_table("notification_deliveries")
    op.drop_table("notification_subscriptions")
    op.drop_table("inbound_deliveries")
    op.drop_table("inbound_sources")
