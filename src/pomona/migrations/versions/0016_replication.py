"""replication: peers, invitations, the nonce store, transfers and their chunks, offers

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pomona.db import Key, LongText, UtcDateTime

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "replication_peers",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("peer_id", sa.String(length=32), nullable=False),
        sa.Column("remote_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("previous_key", sa.String(length=128), nullable=True),
        sa.Column("key_rotated_at", UtcDateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("remote_state", sa.String(length=16), nullable=False),
        sa.Column("stages", LongText, nullable=False),
        sa.Column("notify", sa.Boolean(), nullable=False),
        sa.Column("rate_limit", sa.BigInteger(), nullable=False),
        sa.Column("window", sa.String(length=16), nullable=True),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("poll_token", sa.String(length=32), nullable=True),
        sa.Column("pulling_until", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_seen_at", UtcDateTime(), nullable=True),
        sa.Column("reachable", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.UniqueConstraint("peer_id", name=op.f("uq_replication_peers_peer_id")),
    )
    op.create_table(
        "replication_invitations",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("invitation_id", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("used_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("invitation_id", name=op.f("uq_replication_invitations_invitation_id")),
    )
    op.create_table(
        "replication_nonces",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("key_id", "nonce", name=op.f("uq_replication_nonces_key_id")),
    )
    op.create_index("ix_replication_nonces_expires_at", "replication_nonces", ["expires_at"])
    op.create_table(
        "replication_transfers",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "peer_pk",
            sa.Integer(),
            sa.ForeignKey(
                "replication_peers.pk",
                ondelete="CASCADE",
                name=op.f("fk_replication_transfers_peer_pk_replication_peers"),
            ),
            nullable=False,
        ),
        sa.Column("filename", Key, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("chunk_size", sa.Integer(), nullable=False),
        sa.Column("chunks", LongText, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("rate", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("peer_pk", "filename", name=op.f("uq_replication_transfers_peer_pk")),
    )
    op.create_index("ix_replication_transfers_sha256", "replication_transfers", ["sha256"])
    op.create_table(
        "replication_chunks",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "transfer_pk",
            sa.Integer(),
            sa.ForeignKey(
                "replication_transfers.pk",
                ondelete="CASCADE",
                name=op.f("fk_replication_chunks_transfer_pk_replication_transfers"),
            ),
            nullable=False,
        ),
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.UniqueConstraint("transfer_pk", "chunk", name=op.f("uq_replication_chunks_transfer_pk")),
    )
    op.create_table(
        "replication_offers",
        sa.Column("pk", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "peer_pk",
            sa.Integer(),
            sa.ForeignKey(
                "replication_peers.pk",
                ondelete="CASCADE",
                name=op.f("fk_replication_offers_peer_pk_replication_peers"),
            ),
            nullable=False,
        ),
        sa.Column("filename", Key, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("rate", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("peer_pk", "filename", name=op.f("uq_replication_offers_peer_pk")),
    )
    op.create_index("ix_replication_offers_sha256", "replication_offers", ["sha256"])


def downgrade() -> None:
    for table in (
        "replication_offers",
        "replication_chunks",
        "replication_transfers",
        "replication_nonces",
        "replication_invitations",
        "replication_peers",
    ):
        op.drop_table(table)
