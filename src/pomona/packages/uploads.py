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
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from anyio import to_thread
from sqlalchemy import CursorResult, delete, select

from pomona.audit.service import Who, record
from pomona.auth.scopes import Principal
from pomona.db import Database, utcnow
from pomona.errors import (
    BadRequest,
    ChecksumMismatch,
    Conflict,
    Gone,
    Invalid,
    Location,
    TooLarge,
)
from pomona.packages.hashing import Ingest, hash_file
from pomona.packages.models import Package, PackageUpload
from pomona.packages.names import package_filename
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


def owner(caller: Principal) -> str | None:
    """Whose resumable uploads ``caller`` may see and touch: its own (an upload belongs to the
    principal that created it), or everyone's (``None``) for an admin."""
    return None if caller.allows("admin") else caller.name


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

    def check_filename(
        self, filename: str, path: str = "/filename", location: Location = "path"
    ) -> str:
        """The filename as stored (NFC), or :class:`Invalid` saying what is wrong with it."""
        return package_filename(filename, self.settings.package_extensions, path, location)

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
        filename = self.check_filename(filename)
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
        self,
        filename: str,
        length: int,
        *,
        metadata: str,
        who: Who,
        replace: bool = False,
        sha256: str | None = None,
    ) -> UploadState:
        """A new upload owned by ``who``; refused at once when its last byte would be.

        A name held by a package is free only to ``replace``, or to the same content, which the
        client vouches for by sending its ``sha256``: better a refusal now than after the
        whole transfer.
        """
        filename = self.check_filename(filename, "/Upload-Metadata/filename", "header")
        self.check_length(length)
        if not replace:
            await self._check_name_free(filename, sha256)
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
            return await self._append(upload_id, 0, _nothing(), who, who.actor, None, None)
        return self._state(row)

    async def _check_name_free(self, filename: str, sha256: str | None) -> None:
        async with self.db.sessions() as session:
            current = await session.scalar(
                select(Package.sha256).where(Package.filename == filename)
            )
        if current is None or (sha256 is not None and sha256.lower() == current):
            return
        raise Conflict(
            f"a package named '{filename}' exists; upload with replace to replace it, or send "
            "the content's sha256 in the metadata if it is the same",
            "/Upload-Metadata/filename",
            "header",
            code="package_exists",
        )

    async def upload_state(self, upload_id: str, *, caller: Principal) -> UploadState:
        """Where the upload stands, once any piece being written (by any process) is in."""
        return self._state(await self.leases.settled(upload_id, WAIT_SECONDS, owner(caller)))

    async def append(
        self,
        upload_id: str,
        offset: int,
        chunks: AsyncIterator[bytes],
        *,
        who: Who,
        caller: Principal,
        checksum: tuple[str, bytes] | None = None,
        length: int | None = None,
    ) -> UploadState:
        """Append one PATCH's bytes at ``offset``; publish the package when it is complete."""
        return await self._append(upload_id, offset, chunks, who, owner(caller), checksum, length)

    async def _append(
        self,
        upload_id: str,
        offset: int,
        chunks: AsyncIterator[bytes],
        who: Who,
        upload_owner: str | None,
        checksum: tuple[str, bytes] | None,
        length: int | None,
    ) -> UploadState:
        kept: Partial | None = None  # whose hashes to keep for the next piece
        try:
            async with self.leases.hold(upload_id, WAIT_SECONDS, upload_owner) as lease:
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
        """Append what arrives. A piece that is refused (longer than what remains, or not
        matching its checksum) changes nothing; one cut short keeps what arrived, for the client
        to resume from, unless it came with a checksum, which only a whole piece can match."""
        row = lease.row
        before = partial.ingest.copy()
        check = CHECKSUMS[checksum[0]]() if checksum is not None else None
        try:
            await partial.receive(chunks, row.length - row.offset, check)
            if checksum is not None and check is not None and check.digest() != checksum[1]:
                raise ChecksumMismatch(
                    f"the {checksum[0]} checksum of this piece does not match",
                    code="upload_checksum_mismatch",
                )
        except BaseException as exc:
            if checksum is not None or isinstance(exc, TooLarge):
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

    async def terminate(
        self, upload_id: str, who: Who | None = None, caller: Principal | None = None
    ) -> None:
        """Drop an upload and its partial file; ``who`` (a caller abandoning it) is audited,
        and ``caller`` may drop only an upload it owns (:func:`owner`).

        Without them this is housekeeping (a finished or expired upload), not a user's write.
        """
        where = [PackageUpload.upload_id == upload_id]
        mine = None if caller is None else owner(caller)
        if mine is not None:
            where.append(PackageUpload.uploader == mine)
        row: PackageUpload | None = None
        try:
            async with self.db.transaction() as session:
                row = await session.scalar(select(PackageUpload).where(*where))
                if row is None:  # another's upload is not found either: its id is not told
                    raise upload_not_found(upload_id)
                result = await session.execute(delete(PackageUpload).where(*where))
                # Counted, not assumed: a concurrent terminate may have deleted it meanwhile.
                if cast(CursorResult[Any], result).rowcount == 0:
                    raise upload_not_found(upload_id)
                if who is not None:
                    line = f"upload {upload_id} abandoned at {row.offset} of {row.length} bytes"
                    await record(session, who, "upload.terminate", f"package:{row.filename}", line)
        finally:
            # Not found among the caller's own, it may be another's: leave its file alone.
            if row is not None or mine is None:
                self.partial_path(upload_id).unlink(missing_ok=True)
                self.hashes.take(upload_id)


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""
