"""Receiving a package's bytes: one streamed ``PUT``, or a resumable (tus) upload over many
requests, each of which may reach any web process.

Either way the bytes are appended to one partial file in the upload directory and hashed on the
way in (:mod:`.partials`); once the last byte is in, the file is handed to the
:class:`~pomona.packages.publishing.Publisher`. A resumable upload's state is its row (offset,
lease) and its partial file on the shared data directory: nothing a process keeps in memory is
needed to continue it (:mod:`.upload_leases`).
"""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from anyio import to_thread
from sqlalchemy import CursorResult, delete, select

from pomona.audit.service import Who, record
from pomona.db import Database, utcnow
from pomona.errors import (
    BadRequest,
    ChecksumMismatch,
    Conflict,
    Gone,
    Invalid,
    Problem,
    TooLarge,
)
from pomona.packages.hashing import Ingest, hash_file
from pomona.packages.models import PackageUpload
from pomona.packages.partials import HashStates, Partial
from pomona.packages.publishing import Publisher
from pomona.packages.upload_leases import Lease, UploadLeases, upload_not_found
from pomona.packages.values import Published, UploadState
from pomona.settings import Settings

CHECKSUMS: dict[str, Callable[[], Any]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "md5": hashlib.md5,
}
# How long a piece waits for the request before it on the same upload to end.
WAIT_SECONDS = 30.0


def filename_problems(name: str, extensions: Sequence[str]) -> list[str]:
    """What is wrong with ``name`` as a package filename (nothing: an empty list)."""
    problems = []
    if not name or len(name.encode()) > 255:
        problems.append("a filename has 1 to 255 bytes")
    if "/" in name or "\\" in name or name in (".", ".."):
        problems.append("a filename cannot contain '/' or '\\' or be '.' or '..'")
    if name.startswith((".", "-")) or name != name.strip():
        problems.append("a filename cannot start with '.' or '-' or start or end with a space")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in name):
        problems.append("a filename cannot contain control or invisible characters")
    if not name.lower().endswith(tuple(e.lower() for e in extensions)):
        problems.append(f"the filename must end with one of: {', '.join(extensions)}")
    return problems


class UploadService:
    """Plain and resumable uploads, handing finished files to ``publisher``."""

    def __init__(self, db: Database, settings: Settings, publisher: Publisher) -> None:
        self.db = db
        self.settings = settings
        self.publisher = publisher
        self.leases = UploadLeases(db)
        self.hashes = HashStates()
        self.directory = settings.resolved_upload_dir
        self.directory.mkdir(parents=True, exist_ok=True)

    # -- checks -------------------------------------------------------------------------------

    def check_filename(self, filename: str, path: str = "/filename") -> None:
        problems = filename_problems(filename, self.settings.package_extensions)
        if problems:
            raise Invalid(
                [Problem(path, message, "path") for message in problems], code="filename_invalid"
            )

    def check_length(self, length: int) -> None:
        limit = self.settings.package_max_bytes
        if length > limit:
            raise TooLarge(f"{length} bytes is over the limit of {limit}", code="package_too_large")

    # -- plain upload -------------------------------------------------------------------------

    async def receive(
        self,
        filename: str,
        chunks: AsyncIterator[bytes],
        *,
        length: int | None,
        who: Who,
        replace: bool = False,
        sha256: str | None = None,
    ) -> Published:
        """Store a package sent in one stream; ``length`` (when known) must be what arrives."""
        self.check_filename(filename)
        if length is not None:
            self.check_length(length)
        partial = Partial(self.directory / f"put-{uuid.uuid4().hex}.part", Ingest())
        partial.path.touch()
        try:
            limit = self.settings.package_max_bytes if length is None else length
            received = await partial.receive(chunks, limit)
            if length is not None and received != length:
                raise BadRequest(
                    f"the body ended after {received} of {length} bytes", code="body_incomplete"
                )
            digests = partial.ingest.finish()
            if sha256 is not None and digests.sha256 != sha256.lower():
                raise Invalid(
                    f"the content's SHA-256 is {digests.sha256}, not {sha256}",
                    "/sha256",
                    code="sha256_mismatch",
                )
            await to_thread.run_sync(partial.sync)
            return await self.publisher.publish(
                partial.path, digests, filename, who, replace=replace
            )
        finally:
            partial.path.unlink(missing_ok=True)

    # -- resumable uploads (tus) --------------------------------------------------------------

    def partial_path(self, upload_id: str) -> Path:
        return self.directory / f"tus-{upload_id}.part"

    def _expires(self, updated: datetime) -> datetime:
        return updated + timedelta(hours=self.settings.upload_expiry_hours)

    def _state(
        self, row: PackageUpload, offset: int | None = None, published: Published | None = None
    ) -> UploadState:
        return UploadState(
            upload_id=row.upload_id,
            filename=row.filename,
            length=row.length,
            offset=row.offset if offset is None else offset,
            metadata=row.metadata_,
            expires_at=self._expires(row.updated_at if offset is None else utcnow()),
            published=published,
        )

    async def create_upload(
        self, filename: str, length: int, *, metadata: str, who: Who, replace: bool = False
    ) -> UploadState:
        self.check_filename(filename, "/Upload-Metadata/filename")
        self.check_length(length)
        upload_id = uuid.uuid4().hex
        self.partial_path(upload_id).touch()
        now = utcnow()
        row = PackageUpload(
            upload_id=upload_id,
            filename=filename,
            length=length,
            offset=0,
            metadata_=metadata,
            replace=replace,
            uploader=who.actor,
            created_at=now,
            updated_at=now,
        )
        async with self.db.transaction() as session:
            session.add(row)
        if length == 0:
            return await self.append(upload_id, 0, _nothing(), who=who)
        return self._state(row)

    async def upload_state(self, upload_id: str) -> UploadState:
        """Where the upload stands, once any piece being written (by any process) is in."""
        return self._state(await self.leases.settled(upload_id, WAIT_SECONDS))

    async def append(
        self,
        upload_id: str,
        offset: int,
        chunks: AsyncIterator[bytes],
        *,
        who: Who,
        checksum: tuple[str, bytes] | None = None,
        length: int | None = None,
    ) -> UploadState:
        """Append one PATCH's bytes at ``offset``; publish the package when it is complete."""
        kept: Partial | None = None  # whose hashes to keep for the next piece
        try:
            async with self.leases.hold(upload_id, WAIT_SECONDS) as lease:
                row = lease.row
                if offset != row.offset:
                    raise Conflict(
                        f"the upload is at offset {row.offset}, not {offset}",
                        code="upload_offset_mismatch",
                    )
                remaining = row.length - row.offset
                if length is not None and length > remaining:
                    raise TooLarge(
                        f"{length} bytes sent; only {remaining} remain", code="upload_overrun"
                    )
                kept = partial = Partial(self.partial_path(upload_id), await self._ingest_at(row))
                await self._receive_piece(lease, partial, chunks, checksum)
                if partial.ingest.size == row.length:
                    kept = None  # the upload ends here, and its hashes with it
                    return await self._finish(row, partial, who)
        finally:
            # Kept only when the offset they describe was recorded, even if the piece failed.
            if kept is not None and lease.released:
                self.hashes.keep(upload_id, kept.ingest)
        if not lease.released:  # dropped (terminated, expired) while this piece came in
            raise upload_not_found(upload_id)
        return self._state(row, offset=partial.ingest.size)

    async def _receive_piece(
        self,
        lease: Lease,
        partial: Partial,
        chunks: AsyncIterator[bytes],
        checksum: tuple[str, bytes] | None,
    ) -> None:
        """Append what arrives; a piece sent with a checksum is kept whole or not at all."""
        row = lease.row
        before = partial.ingest.copy() if checksum is not None else None
        check = CHECKSUMS[checksum[0]]() if checksum is not None else None
        try:
            await partial.receive(chunks, row.length - row.offset, check)
            if checksum is not None and check is not None and check.digest() != checksum[1]:
                raise ChecksumMismatch(
                    f"the {checksum[0]} checksum of this piece does not match",
                    code="upload_checksum_mismatch",
                )
        except BaseException:
            if before is not None:
                await to_thread.run_sync(partial.truncate, row.offset)
                partial.ingest = before
            raise
        finally:
            lease.offset = partial.ingest.size

    async def _ingest_at(self, row: PackageUpload) -> Ingest:
        """The hashes of the partial file up to the recorded offset: those this process kept
        from an earlier piece, continued over what others appended since, or hashed afresh."""
        path = self.partial_path(row.upload_id)
        size = path.stat().st_size if path.exists() else 0
        if size < row.offset:
            raise Gone(
                "the partial file of this upload is missing; start again", code="upload_data_gone"
            )
        if size > row.offset:  # written but never recorded (a crash): not part of the upload
            await to_thread.run_sync(Partial(path, Ingest()).truncate, row.offset)
        kept = self.hashes.take(row.upload_id)
        if kept is not None and kept.size > row.offset:
            kept = None
        return await to_thread.run_sync(lambda: hash_file(path, limit=row.offset, ingest=kept))

    async def _finish(self, row: PackageUpload, partial: Partial, who: Who) -> UploadState:
        digests = partial.ingest.finish()
        # The package is the upload creator's; the address is that of the request completing it.
        uploader = Who.of(row.uploader, who.client)
        try:
            await to_thread.run_sync(partial.sync)
            published = await self.publisher.publish(
                partial.path, digests, row.filename, uploader, replace=row.replace
            )
        finally:
            await self.terminate(row.upload_id)
        return self._state(row, offset=row.length, published=published)

    async def terminate(self, upload_id: str, who: Who | None = None) -> None:
        """Drop an upload and its partial file; ``who`` (a caller abandoning it) is audited.

        Without ``who`` this is housekeeping (a finished or expired upload), not a user's write.
        """
        try:
            async with self.db.transaction() as session:
                row = await session.scalar(
                    select(PackageUpload).where(PackageUpload.upload_id == upload_id)
                )
                result = await session.execute(
                    delete(PackageUpload).where(PackageUpload.upload_id == upload_id)
                )
                # Counted, not assumed: a concurrent terminate may have deleted it meanwhile.
                if row is None or cast(CursorResult[Any], result).rowcount == 0:
                    raise upload_not_found(upload_id)
                if who is not None:
                    line = f"upload {upload_id} abandoned at {row.offset} of {row.length} bytes"
                    await record(session, who, "upload.terminate", f"package:{row.filename}", line)
        finally:
            self.partial_path(upload_id).unlink(missing_ok=True)
            self.hashes.take(upload_id)


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""
