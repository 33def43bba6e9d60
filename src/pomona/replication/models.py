"""Tables of the replication domain.

``replication_peers`` holds the sites this one is paired with (one key per pair);
``replication_invitations`` the one-time codes that pair them; ``replication_nonces`` the
signed requests seen within the allowed clock skew (a replay is refused). On the receiving
side, ``replication_transfers`` is a package being fetched and ``replication_chunks`` the chunks
of it already verified and on disk (so a transfer resumes after a crash); on the sending side,
``replication_offers`` is what each peer was told it should have, and how far it got.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pomona.db import Base, Key, LongText, UtcDateTime


class Peer(Base):
    __tablename__ = "replication_peers"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Our id for the peer: the keyid it signs its requests to us with.
    peer_id: Mapped[str] = mapped_column(String(32), unique=True)
    # The peer's id for us: the keyid we sign our requests to it with.
    remote_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(String(1000))
    # The pair's HMAC key (hex); the one before the last rotation is accepted for a while.
    key: Mapped[str] = mapped_column(String(128))
    previous_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    key_rotated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(16))  # paired | unpaired
    remote_state: Mapped[str] = mapped_column(String(16))  # paired | unpaired | unknown
    stages: Mapped[str] = mapped_column(LongText)  # JSON list: the stages the peer accepts
    # Whether we tell the peer of changes (false for a peer nobody can reach: it polls).
    notify: Mapped[bool] = mapped_column(Boolean)
    rate_limit: Mapped[int] = mapped_column(BigInteger)  # bytes per second from it; 0: none
    window: Mapped[str | None] = mapped_column(String(16), nullable=True)  # HH:MM-HH:MM UTC
    cursor: Mapped[int] = mapped_column(BigInteger)  # how far in its change log we are
    poll_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    pulling_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reachable: Mapped[bool] = mapped_column(Boolean)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class Invitation(Base):
    __tablename__ = "replication_invitations"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invitation_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Nonce(Base):
    __tablename__ = "replication_nonces"
    __table_args__ = (UniqueConstraint("key_id", "nonce"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class Transfer(Base):
    __tablename__ = "replication_transfers"
    __table_args__ = (UniqueConstraint("peer_pk", "filename"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    peer_pk: Mapped[int] = mapped_column(ForeignKey("replication_peers.pk", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(Key)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    chunk_size: Mapped[int] = mapped_column(Integer)
    chunks: Mapped[str] = mapped_column(LongText)  # JSON list of the chunks' SHA-256
    # The sender's MD5 and SHA-512 of the content (see landing.py); null from a sender that
    # does not give them, and then computed here.
    md5: Mapped[str | None] = mapped_column(String(32), nullable=True)
    sha512: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # queued | running | waiting (outside the peer's window) | done | failed
    state: Mapped[str] = mapped_column(String(16))
    received: Mapped[int] = mapped_column(BigInteger)
    rate: Mapped[int] = mapped_column(BigInteger)  # bytes per second, while running
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TransferChunk(Base):
    __tablename__ = "replication_chunks"
    __table_args__ = (UniqueConstraint("transfer_pk", "chunk"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    transfer_pk: Mapped[int] = mapped_column(
        ForeignKey("replication_transfers.pk", ondelete="CASCADE")
    )
    chunk: Mapped[int] = mapped_column(Integer)


class Offer(Base):
    __tablename__ = "replication_offers"
    __table_args__ = (UniqueConstraint("peer_pk", "filename"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    peer_pk: Mapped[int] = mapped_column(ForeignKey("replication_peers.pk", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(Key)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # offered | queued | running | waiting | done | failed | removed (as the peer reports)
    state: Mapped[str] = mapped_column(String(16))
    received: Mapped[int] = mapped_column(BigInteger)
    rate: Mapped[int] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


__all__ = ["Invitation", "Nonce", "Offer", "Peer", "Transfer", "TransferChunk"]
