"""webhooks: endpoints, deliveries and their attempts, and the outbox readers' cursors

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pomona.db import LongText, UtcDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{table}.pk", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "event_cursors",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("endpoint_id", sa.String(40), nullable=False),
        sa.Column("url", LongText, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("event_types", LongText, nullable=False),
        sa.Column("namespace", sa.String(64), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(255), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("previous_secret", sa.String(128), nullable=True),
        sa.Column("previous_until", UtcDateTime(), nullable=True),
        sa.Column("send_definition", sa.Boolean(), nullable=False),
        sa.Column("failing_since", UtcDateTime(), nullable=True),
        sa.Column("disabled_reason", sa.String(255), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("endpoint_id", name="uq_webhook_endpoints_endpoint_id"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event_pk", sa.Integer(), _fk("events"), nullable=False),
        sa.Column("endpoint_pk", sa.Integer(), _fk("webhook_endpoints"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("due_at", UtcDateTime(), nullable=False),
        sa.Column("queued_at", UtcDateTime(), nullable=True),
        sa.Column("held_until", UtcDateTime(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("delivered_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("event_pk", "endpoint_pk", name="uq_webhook_delivery"),
    )
    for column in ("event_pk", "endpoint_pk", "state", "due_at"):
        op.create_index(f"ix_webhook_deliveries_{column}", "webhook_deliveries", [column])
    op.create_table(
        "webhook_attempts",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("delivery_pk", sa.Integer(), _fk("webhook_deliveries"), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(1024), nullable=True),
        sa.Column("error", sa.String(1024), nullable=True),
    )
    op.create_index("ix_webhook_attempts_delivery_pk", "webhook_attempts", ["delivery_pk"])


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    op.drop_table("event_cursors")
