"""Tables of the package store.

Bytes are kept once per content (``package_blobs``, keyed by SHA-256); ``packages`` maps each
published filename to a blob. A replaced or deleted package's previous content is listed in
``package_history`` (so it is kept until the cleanup's retention passes), ``package_uploads``
tracks resumable uploads in progress (all of their state: any web process may receive the next
piece), and ``package_events`` records uploads, replacements, edits and deletions for
notifications.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pomona.db import Base, Key, LongText, UtcDateTime, utcnow


class PackageBlob(Base):
    __tablename__ = "package_blobs"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    md5: Mapped[str] = mapped_column(String(32))
    sha512: Mapped[str] = mapped_column(String(128))
    chunk_size: Mapped[int] = mapped_column(Integer)
    chunks: Mapped[str] = mapped_column(LongText)  # JSON list of the chunks' SHA-256
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Refreshed whenever a publish reuses the blob; cleanup spares recently used blobs.
    last_used_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Set by the scrub: when the stored bytes were last read back and found right, and when
    # they were found changed or missing (then no package using them is served).
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    quarantined_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    quarantine_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class Package(Base):
    __tablename__ = "packages"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    filename: Mapped[str] = mapped_column(Key, unique=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    uploader: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PackageTag(Base):
    __tablename__ = "package_tags"
    __table_args__ = (UniqueConstraint("package_pk", "tag"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    package_pk: Mapped[int] = mapped_column(ForeignKey("packages.pk", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(Key, index=True)


class PackageHistory(Base):
    __tablename__ = "package_history"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    filename: Mapped[str] = mapped_column(Key, index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    uploader: Mapped[str] = mapped_column(String(255))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    superseded_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    reason: Mapped[str] = mapped_column(String(32))  # replaced | deleted

    @classmethod
    def superseding(cls, row: Package, now: datetime, reason: str) -> PackageHistory:
        """The entry that keeps ``row``'s content listed once it is replaced or deleted."""
        return cls(
            filename=row.filename,
            sha256=row.sha256,
            size=row.size,
            uploader=row.uploader,
            uploaded_at=row.uploaded_at,
            superseded_at=now,
            reason=reason,
        )


class PackageUpload(Base):
    __tablename__ = "package_uploads"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    upload_id: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(Key)
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger)
    metadata_: Mapped[str] = mapped_column("metadata", LongText)  # Upload-Metadata as sent
    replace: Mapped[bool] = mapped_column(Boolean)
    uploader: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    # The lease of the request appending to the upload, whichever process it reached: a
    # random holder id and when the lease runs out unless renewed. Claimed by a conditional
    # UPDATE, so two pieces of one upload are never written at once.
    lease_holder: Mapped[str | None] = mapped_column(String(32), nullable=True)
    lease_expires: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class PackagePending(Base):
    """A verified upload waiting for a task to store it remotely (S3) and publish it."""

    __tablename__ = "package_pending"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pending_id: Mapped[str] = mapped_column(String(32), unique=True)
    filename: Mapped[str] = mapped_column(Key)
    sha256: Mapped[str] = mapped_column(String(64))
    replace: Mapped[bool] = mapped_column(Boolean)
    uploader: Mapped[str] = mapped_column(String(255))
    digests: Mapped[str] = mapped_column(LongText)  # JSON: size, md5, sha512, chunk_size, chunks
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class PackageEvent(Base):
    __tablename__ = "package_events"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # uploaded | replaced | updated | deleted | quarantined | rejected
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(Key, index=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    actor: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    detail: Mapped[str | None] = mapped_column(LongText, nullable=True)  # JSON

    @classmethod
    def about(
        cls, kind: str, row: Package, actor: str, detail: dict[str, Any] | None
    ) -> PackageEvent:
        """An event about the package ``row`` as it stands."""
        return cls(
            kind=kind,
            filename=row.filename,
            sha256=row.sha256,
            size=row.size,
            actor=actor,
            created_at=utcnow(),
            detail=orjson.dumps(detail).decode() if detail is not None else None,
        )


__all__ = [
    "Package",
    "PackageBlob",
    "PackageEvent",
    "PackageHistory",
    "PackagePending",
    "PackageTag",
    "PackageUpload",
]
