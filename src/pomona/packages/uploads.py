"""Receiving a package's bytes: one streamed ``PUT``, or a resumable (tus) upload over many
requests.

Either way the bytes are appended to one partial file in the upload directory and hashed on the
way in (:mod:`pomona.packages.hashing`); once the last byte is in, the file is handed to
:meth:`~pomona.packages.service.PackageService.publish`. Kept apart from the service because the
upload state (partial files, live hash state, per-upload locks) is a machine of its own.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import os
import unicodedata
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
from anyio import to_thread
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.audit.service import Who, record
from pomona.db import Database, utcnow
from pomona.errors import (
    BadRequest,
    ChecksumMismatch,
    Conflict,
    Gone,
    Invalid,
    NotFound,
    Problem,
    TooLarge,
)
from pomona.packages.hashing import CHUNK_SIZE, Digests, Ingest, hash_file
from pomona.packages.models import PackageUpload
from pomona.packages.records import Published
from pomona.settings import Settings

# Uploads are written and hashed in blocks of this size: each block costs a few hand-overs of
# the GIL between the event loop and the hashing threads, so larger blocks leave more of the
# two cores to the work (4 MiB measured about 10% faster than 1 MiB), for a few MiB per upload.
WRITE_BLOCK = 4 * CHUNK_SIZE
CHECKSUMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "md5": hashlib.md5}


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


def parse_checksum(header: str) -> tuple[str, bytes]:
    """``Upload-Checksum: <algorithm> <base64 digest>``."""
    algorithm, _, encoded = header.strip().partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in CHECKSUMS:
        raise BadRequest(
            f"unsupported checksum algorithm '{algorithm}'; use {', '.join(CHECKSUMS)}"
        )
    try:
        return algorithm, base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("the Upload-Checksum digest is not valid base64") from None


@dataclass(frozen=True, slots=True)
class UploadState:
    upload_id: str
    filename: str
    length: int
    offset: int
    metadata: str
    expires_at: datetime
    published: Published | None = None


class _Partial:
    """A partial file being appended to, with the hashes of everything in it."""

    def __init__(self, path: Path, ingest: Ingest) -> None:
        self.path = path
        self.ingest = ingest

    def truncate(self, size: int) -> None:
        with self.path.open("r+b") as out:
            out.truncate(size)

    def sync(self) -> None:
        with self.path.open("rb+") as out:
            os.fsync(out.fileno())


async def _receive(
    partial: _Partial, chunks: AsyncIterator[bytes], limit: int, check: Any | None = None
) -> int:
    """Append ``chunks`` to ``partial`` in blocks of ``WRITE_BLOCK``; more than ``limit`` bytes
    is 413.

    Each block is written and hashed on a worker thread while the next one is read from the
    request, so receiving and hashing overlap (one block in flight: the memory held stays a
    few blocks per upload whatever its size). What was received is written even when the stream
    breaks off, so that a resumed upload continues from there.
    """
    out = await to_thread.run_sync(partial.path.open, "ab")

    def append(parts: list[bytes]) -> None:
        # One block, not its pieces: each call into hashlib or the file gives up the GIL and
        # must win it back from the event loop, so fewer, larger calls are faster overall.
        block = parts[0] if len(parts) == 1 else b"".join(parts)
        out.write(block)
        partial.ingest.update(block)

    loop = asyncio.get_running_loop()
    received = 0
    parts: list[bytes] = []
    held = 0  # bytes in parts
    writing: asyncio.Future[None] | None = None
    try:
        async for chunk in chunks:
            received += len(chunk)
            if received > limit:
                raise TooLarge(f"the body is longer than the {limit} bytes expected")
            parts.append(chunk)
            held += len(chunk)
            if check is not None:
                check.update(chunk)
            if held >= WRITE_BLOCK:
                if writing is not None:
                    await writing
                writing = loop.run_in_executor(None, append, parts)
                parts, held = [], 0
    finally:
        # Even when the request is cancelled: the file must hold exactly the bytes hashed.
        with anyio.CancelScope(shield=True):
            try:
                if writing is not None:
                    await writing
                if parts:
                    await to_thread.run_sync(append, parts)
            finally:
                await to_thread.run_sync(out.close)
    return received


class Uploads(ABC):
    """The upload half of :class:`~pomona.packages.service.PackageService`, mixed into it."""

    # Set by PackageService.__init__.
    db: Database
    settings: Settings
    upload_dir: Path
    # Live hash state of the uploads this process is receiving (see hashing.py).
    _live: dict[str, Ingest]
    _locks: dict[str, asyncio.Lock]

    @abstractmethod
    async def publish(
        self, path: Path, digests: Digests, filename: str, who: Who, *, replace: bool
    ) -> Published:
        """Make the verified file at ``path`` the content of ``filename`` (the service does)."""

    # -- checks -------------------------------------------------------------------------------

    def check_filename(self, filename: str, path: str = "/filename") -> None:
        problems = filename_problems(filename, self.settings.package_extensions)
        if problems:
            raise Invalid([Problem(path, message, "path") for message in problems])

    def check_length(self, length: int) -> None:
        if length > self.settings.package_max_bytes:
            raise TooLarge(f"{length} bytes is over the limit of {self.settings.package_max_bytes}")

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
        partial = _Partial(self.upload_dir / f"put-{uuid.uuid4().hex}.part", Ingest())
        partial.path.touch()
        try:
            limit = self.settings.package_max_bytes if length is None else length
            received = await _receive(partial, chunks, limit)
            if length is not None and received != length:
                raise BadRequest(f"the body ended after {received} of {length} bytes")
            digests = partial.ingest.finish()
            if sha256 is not None and digests.sha256 != sha256.lower():
                raise Invalid(f"the content's SHA-256 is {digests.sha256}, not {sha256}", "/sha256")
            await to_thread.run_sync(partial.sync)
            return await self.publish(partial.path, digests, filename, who, replace=replace)
        finally:
            partial.path.unlink(missing_ok=True)

    # -- resumable uploads (tus) --------------------------------------------------------------

    def _partial_path(self, upload_id: str) -> Path:
        return self.upload_dir / f"tus-{upload_id}.part"

    def _expires(self, updated: datetime) -> datetime:
        return updated + timedelta(hours=self.settings.upload_expiry_hours)

    def _state(self, row: PackageUpload, published: Published | None = None) -> UploadState:
        return UploadState(
            upload_id=row.upload_id,
            filename=row.filename,
            length=row.length,
            offset=row.offset,
            metadata=row.metadata_,
            expires_at=self._expires(row.updated_at),
            published=published,
        )

    async def create_upload(
        self, filename: str, length: int, *, metadata: str, who: Who, replace: bool = False
    ) -> UploadState:
        self.check_filename(filename, "/Upload-Metadata/filename")
        self.check_length(length)
        upload_id = uuid.uuid4().hex
        self._partial_path(upload_id).touch()
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
        self._live[upload_id] = Ingest()
        if length == 0:
            return await self.append(upload_id, 0, _nothing(), who=who)
        return self._state(row)

    async def _upload(self, session: AsyncSession, upload_id: str) -> PackageUpload:
        row = await session.scalar(
            select(PackageUpload).where(PackageUpload.upload_id == upload_id)
        )
        if row is None:
            raise NotFound(f"no upload '{upload_id}' (finished, terminated or expired)")
        return row

    async def upload_state(self, upload_id: str) -> UploadState:
        """Where the upload stands, after any piece this process is still writing."""
        lock = self._locks.get(upload_id)
        if lock is not None and lock.locked():
            # A client resuming after a dropped connection may ask before the server has seen
            # the drop; answering after that write ends avoids sending it a stale offset.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(30):
                    async with lock:
                        pass
        async with self.db.sessions() as session:
            return self._state(await self._upload(session, upload_id))

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
        lock = self._locks.setdefault(upload_id, asyncio.Lock())
        async with lock:
            async with self.db.sessions() as session:
                row = await self._upload(session, upload_id)
            if offset != row.offset:
                raise Conflict(f"the upload is at offset {row.offset}, not {offset}")
            remaining = row.length - row.offset
            if length is not None and length > remaining:
                raise TooLarge(f"{length} bytes sent; only {remaining} remain")
            partial = _Partial(self._partial_path(upload_id), await self._ingest_at(row))
            before = partial.ingest.copy() if checksum is not None else None
            check = CHECKSUMS[checksum[0]]() if checksum is not None else None
            complete = False
            try:
                await _receive(partial, chunks, remaining, check)
                if checksum is not None and check is not None and check.digest() != checksum[1]:
                    raise ChecksumMismatch(
                        f"the {checksum[0]} checksum of this piece does not match"
                    )
                complete = partial.ingest.size == row.length
            except BaseException:
                if before is not None:  # a piece with a checksum is kept whole or not at all
                    await to_thread.run_sync(partial.truncate, row.offset)
                    partial.ingest = before
                raise
            finally:
                self._live[upload_id] = partial.ingest
                await self._record_offset(upload_id, partial.ingest.size)
            if not complete:
                async with self.db.sessions() as session:
                    return self._state(await self._upload(session, upload_id))
            return await self._finish(row, partial, who)

    async def _ingest_at(self, row: PackageUpload) -> Ingest:
        """The hash state at the recorded offset: the live one, or the partial file hashed again."""
        path = self._partial_path(row.upload_id)
        live = self._live.get(row.upload_id)
        size = path.stat().st_size if path.exists() else 0
        if size < row.offset:
            raise Gone("the partial file of this upload is missing; start again")
        if size > row.offset:  # written but never recorded (a crash): not part of the upload
            await to_thread.run_sync(_Partial(path, Ingest()).truncate, row.offset)
        if live is not None and live.size == row.offset:
            return live
        return await to_thread.run_sync(lambda: hash_file(path, limit=row.offset))

    async def _record_offset(self, upload_id: str, offset: int) -> None:
        async with self.db.transaction() as session:
            row = await session.scalar(
                select(PackageUpload).where(PackageUpload.upload_id == upload_id)
            )
            if row is not None:
                row.offset = offset
                row.updated_at = utcnow()

    async def _finish(self, row: PackageUpload, partial: _Partial, who: Who) -> UploadState:
        digests = partial.ingest.finish()
        # The package is the upload creator's; the address is that of the request completing it.
        uploader = Who.of(row.uploader, who.client)
        try:
            await to_thread.run_sync(partial.sync)
            published = await self.publish(
                partial.path, digests, row.filename, uploader, replace=row.replace
            )
        finally:
            await self.terminate(row.upload_id)
        return UploadState(
            upload_id=row.upload_id,
            filename=row.filename,
            length=row.length,
            offset=row.length,
            metadata=row.metadata_,
            expires_at=self._expires(utcnow()),
            published=published,
        )

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
                if row is None or result.rowcount == 0:  # type: ignore[attr-defined]
                    raise NotFound(f"no upload '{upload_id}'")
                if who is not None:
                    line = f"upload {upload_id} abandoned at {row.offset} of {row.length} bytes"
                    await record(session, who, "upload.terminate", f"package:{row.filename}", line)
        finally:
            self._partial_path(upload_id).unlink(missing_ok=True)
            self._live.pop(upload_id, None)
            self._locks.pop(upload_id, None)


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""
