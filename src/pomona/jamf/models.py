"""Tables of the Jamf Pro companion.

``jamf_connections`` holds each Jamf Pro server Pomona talks to, its secret encrypted;
``jamf_pushes`` one push of a package to a connection with the state it needs to resume after a
crash (the S3 multipart upload's id and object key: S3 itself remembers which parts arrived);
``jamf_rules`` says which tagged packages go to which connection.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pomona.db import Base, Key, UtcDateTime


class JamfConnection(Base):
    __tablename__ = "jamf_connections"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(String(1024))
    auth: Mapped[str] = mapped_column(String(16))  # client | user
    # The API client's id or the user's name; the secret is encrypted (secret_box).
    principal: Mapped[str] = mapped_column(String(255))
    secret: Mapped[str] = mapped_column(Text)
    hash_type: Mapped[str] = mapped_column(String(16))  # SHA_512 | MD5
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class JamfPush(Base):
    __tablename__ = "jamf_pushes"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    push_id: Mapped[str] = mapped_column(String(32), unique=True)
    job_id: Mapped[str] = mapped_column(String(32), index=True)
    connection: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(Key, index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # queued | running | succeeded | failed
    step: Mapped[str] = mapped_column(String(16))
    bytes_sent: Mapped[int] = mapped_column(BigInteger)
    package_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    method: Mapped[str | None] = mapped_column(String(16), nullable=True)  # multipart|upload|skip
    upload_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    object_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    part_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    rule: Mapped[str | None] = mapped_column(Key, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class JamfRule(Base):
    __tablename__ = "jamf_rules"
    __table_args__ = (UniqueConstraint("tag", "connection"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tag: Mapped[str] = mapped_column(Key)
    connection: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


__all__ = ["JamfConnection", "JamfPush", "JamfRule"]
