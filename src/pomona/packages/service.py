"""The package store: receive, verify, publish, describe and remove packages. Knows no HTTP.

Life of a package's bytes:

1. They are appended to one partial file in the upload directory (a plain ``PUT`` writes one in a
   single request; a tus upload writes one over as many requests as it takes), and hashed on the
   way in (:mod:`pomona.packages.hashing`). Nothing else ever reads or copies them.
2. When the last byte is in, the partial file is verified (length and, when the client gave
   them, checksums) and published: moved by rename into the content-addressed store
   (``blobs/<sha256[:2]>/<sha256>``), or uploaded to S3, where the object appears only once
   complete. Content already stored is not stored again.
3. Then one transaction points the filename at the content. Only from this moment can the
   package be listed or downloaded; a crash before it leaves an unreferenced partial file or blob,
   which :meth:`PackageService.cleanup` removes once it is older than the upload expiry.

With remote storage (S3) and a job queue, step 2's upload to the bucket is not done in the
request: the verified file is kept as a pending publication (a row and its file) and the
``packages.finalise`` task stores and publishes it; until then the package is not visible.

The scrub (:meth:`PackageService.scrub`) reads every stored blob back; one whose bytes no longer
match is quarantined: no package using it is served until the content is uploaded again.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import logging
import os
import re
import unicodedata
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import anyio
import orjson
from anyio import to_thread
from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.audit.service import Who, record
from pomona.db import Database, utcnow
from pomona.errors import ApiError, Conflict, Invalid, NotFound, Problem
from pomona.packages.hashing import CHUNK_SIZE, Digests, Ingest, hash_file
from pomona.packages.models import (
    Package,
    PackageBlob,
    PackageEvent,
    PackageHistory,
    PackagePending,
    PackageTag,
    PackageUpload,
)
from pomona.packages.storage import LocalStorage, S3Storage, Storage
from pomona.settings import Settings

log = logging.getLogger("pomona.packages")

# Uploads are written and hashed in blocks of this size: each block costs a few hand-overs of
# the GIL between the event loop and the hashing threads, so larger blocks leave more of the
# two cores to the work (4 MiB measured about 10% faster than 1 MiB), for a few MiB per upload.
WRITE_BLOCK = 4 * CHUNK_SIZE
Outcome = Literal["created", "replaced", "unchanged", "pending"]
SCRUB = Who("system:scrub")
CHECKSUMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "md5": hashlib.md5}
TAG_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}"
_UNSET: Any = object()
_CLIENT = "client"


def blob_key(sha256: str) -> str:
    return f"blobs/{sha256[:2]}/{sha256}"


def build_storage(settings: Settings) -> Storage:
    if settings.package_storage == "s3":
        if not settings.s3_bucket:
            raise ValueError("package_storage is s3 but s3_bucket is not set")
        secret = settings.s3_secret_access_key
        return S3Storage(
            settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
        )
    return LocalStorage(settings.resolved_package_dir)


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
        raise ApiError(
            400, f"unsupported checksum algorithm '{algorithm}'; use {', '.join(CHECKSUMS)}"
        )
    try:
        return algorithm, base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "the Upload-Checksum digest is not valid base64") from None


@dataclass(frozen=True, slots=True)
class PackageInfo:
    filename: str
    size: int
    sha256: str
    md5: str
    sha512: str
    chunk_size: int
    chunk_count: int
    notes: str | None
    tags: list[str]
    uploader: str
    created_at: datetime
    uploaded_at: datetime
    updated_at: datetime
    verified_at: datetime | None = None
    quarantined: str | None = None  # why the stored bytes are not served


@dataclass(frozen=True, slots=True)
class Published:
    package: PackageInfo
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class Located:
    """What a download needs: where the bytes are and how to describe them."""

    filename: str
    sha256: str
    size: int
    modified: datetime
    key: str


@dataclass(frozen=True, slots=True)
class UploadState:
    upload_id: str
    filename: str
    length: int
    offset: int
    metadata: str
    expires_at: datetime
    published: Published | None = None


@dataclass(frozen=True, slots=True)
class Page:
    items: list[PackageInfo]
    total: int


@dataclass(slots=True)
class CleanupReport:
    uploads: int = 0
    partial_files: int = 0
    history: int = 0
    blobs: int = 0
    orphans: int = 0
    removed_keys: list[str] = field(default_factory=list)
    stalled: list[str] = field(default_factory=list)  # pending publications to try again


@dataclass(slots=True)
class ScrubReport:
    checked: int = 0
    bytes: int = 0
    quarantined: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "bytes": self.bytes, "quarantined": self.quarantined}


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
                raise ApiError(413, f"the body is longer than the {limit} bytes expected")
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


class PackageService:
    def __init__(
        self,
        db: Database,
        storage: Storage,
        settings: Settings,
        *,
        enqueue: Callable[[str], object] | None = None,
    ) -> None:
        self.db = db
        self.storage = storage
        self.settings = settings
        # Enqueues the ``packages.finalise`` task; without a queue, remote stores are written
        # in the request.
        self.enqueue = enqueue
        self.upload_dir = settings.resolved_upload_dir
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        # Live hash state of the uploads this process is receiving (see hashing.py).
        self._live: dict[str, Ingest] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # -- checks -------------------------------------------------------------------------------

    def check_filename(self, filename: str, path: str = "/filename") -> None:
        problems = filename_problems(filename, self.settings.package_extensions)
        if problems:
            raise Invalid([Problem(path, message, "path") for message in problems])

    def check_length(self, length: int) -> None:
        if length > self.settings.package_max_bytes:
            raise ApiError(
                413, f"{length} bytes is over the limit of {self.settings.package_max_bytes}"
            )

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
                raise ApiError(400, f"the body ended after {received} of {length} bytes")
            digests = partial.ingest.finish()
            if sha256 is not None and digests.sha256 != sha256.lower():
                raise ApiError(
                    422, f"the content's SHA-256 is {digests.sha256}, not {sha256}", "/sha256"
                )
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
                raise ApiError(413, f"{length} bytes sent; only {remaining} remain")
            partial = _Partial(self._partial_path(upload_id), await self._ingest_at(row))
            before = partial.ingest.copy() if checksum is not None else None
            check = CHECKSUMS[checksum[0]]() if checksum is not None else None
            complete = False
            try:
                await _receive(partial, chunks, remaining, check)
                if checksum is not None and check is not None and check.digest() != checksum[1]:
                    raise ApiError(460, f"the {checksum[0]} checksum of this piece does not match")
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
            raise ApiError(410, "the partial file of this upload is missing; start again")
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

    # -- publishing ---------------------------------------------------------------------------

    async def publish(
        self, path: Path, digests: Digests, filename: str, who: Who, *, replace: bool
    ) -> Published:
        """Make the verified file at ``path`` the content of ``filename``; ``path`` is consumed."""
        key = blob_key(digests.sha256)
        async with self.db.transaction() as session:
            current = await self._package(session, filename)
            blob = await session.scalar(
                select(PackageBlob).where(PackageBlob.sha256 == digests.sha256)
            )
            healthy = blob is not None and blob.quarantined_at is None
            if current is not None and current.sha256 == digests.sha256 and healthy:
                await to_thread.run_sync(lambda: path.unlink(missing_ok=True))
                return Published(await self._info(session, current), "unchanged")
            if current is not None and current.sha256 != digests.sha256 and not replace:
                raise _exists(filename)
            if blob is not None:
                blob.last_used_at = utcnow()  # keeps the cleanup away from it
        stored = (
            blob is not None
            and blob.quarantined_at is None
            and await to_thread.run_sync(self.storage.stat, key) is not None
        )
        if stored:
            await to_thread.run_sync(lambda: path.unlink(missing_ok=True))
        elif self.enqueue is not None and self.storage.local_path(key) is None:
            return await self._stage(path, digests, filename, who, replace)
        else:
            await to_thread.run_sync(self.storage.put_file, key, path)
        try:
            async with self.db.transaction() as session:
                return await self._point(session, filename, digests, who, replace)
        except IntegrityError:
            raise _exists(filename) from None

    def _pending_path(self, pending_id: str) -> Path:
        return self.upload_dir / f"pending-{pending_id}.part"

    async def _stage(
        self, path: Path, digests: Digests, filename: str, who: Who, replace: bool
    ) -> Published:
        """Keep the verified file for the ``packages.finalise`` task, which stores it remotely."""
        pending_id = uuid.uuid4().hex
        await to_thread.run_sync(os.replace, path, self._pending_path(pending_id))
        now = utcnow()
        async with self.db.transaction() as session:
            session.add(
                PackagePending(
                    pending_id=pending_id,
                    filename=filename,
                    sha256=digests.sha256,
                    replace=replace,
                    uploader=who.actor,
                    digests=orjson.dumps(
                        {
                            "size": digests.size,
                            "md5": digests.md5,
                            "sha512": digests.sha512,
                            "chunk_size": digests.chunk_size,
                            "chunks": digests.chunks,
                            # Not a digest: the uploader's address, kept with what the task
                            # needs so that the audit record it writes names it.
                            _CLIENT: who.client,
                        }
                    ).decode(),
                    created_at=now,
                )
            )
        assert self.enqueue is not None
        self.enqueue(pending_id)
        info = PackageInfo(
            filename=filename,
            size=digests.size,
            sha256=digests.sha256,
            md5=digests.md5,
            sha512=digests.sha512,
            chunk_size=digests.chunk_size,
            chunk_count=len(digests.chunks),
            notes=None,
            tags=[],
            uploader=who.actor,
            created_at=now,
            uploaded_at=now,
            updated_at=now,
        )
        return Published(info, "pending")

    async def finalise(self, pending_id: str) -> Outcome | None:
        """Store a pending publication and point its filename at it (the finalise task).

        Idempotent: run again after a crash at any point, it finishes the job or finds it done.
        """
        async with self.db.sessions() as session:
            row = await session.scalar(
                select(PackagePending).where(PackagePending.pending_id == pending_id)
            )
        if row is None:
            return None  # done already
        values = orjson.loads(row.digests)
        who = Who.of(row.uploader, values.pop(_CLIENT, None))
        digests = Digests(sha256=row.sha256, **values)
        key = blob_key(row.sha256)
        path = self._pending_path(pending_id)
        if await to_thread.run_sync(self.storage.stat, key) is None or await self._quarantined(
            row.sha256
        ):
            if not path.exists():
                await self._drop_pending(
                    row, "the received file is gone before it could be stored; upload it again"
                )
                return None
            # put_file removes the file only once the object is complete.
            await to_thread.run_sync(self.storage.put_file, key, path)
        outcome: Outcome | None
        try:
            async with self.db.transaction() as session:
                published = await self._point(session, row.filename, digests, who, row.replace)
                await session.execute(
                    delete(PackagePending).where(PackagePending.pending_id == pending_id)
                )
            outcome = published.outcome
        except (Conflict, IntegrityError):
            await self._drop_pending(row, _exists(row.filename).problems[0].message)
            outcome = None
        await to_thread.run_sync(lambda: path.unlink(missing_ok=True))
        return outcome

    async def _quarantined(self, sha256: str) -> bool:
        async with self.db.sessions() as session:
            found = await session.scalar(
                select(PackageBlob.quarantined_at).where(PackageBlob.sha256 == sha256)
            )
        return found is not None

    async def _drop_pending(self, row: PackagePending, reason: str) -> None:
        """Give up a pending publication, recording why for the uploader."""
        async with self.db.transaction() as session:
            await session.execute(
                delete(PackagePending).where(PackagePending.pending_id == row.pending_id)
            )
            session.add(
                PackageEvent(
                    kind="rejected",
                    filename=row.filename,
                    sha256=row.sha256,
                    size=None,
                    actor=row.uploader,
                    created_at=utcnow(),
                    detail=orjson.dumps({"reason": reason}).decode(),
                )
            )
        self._pending_path(row.pending_id).unlink(missing_ok=True)

    async def _point(
        self, session: AsyncSession, filename: str, digests: Digests, who: Who, replace: bool
    ) -> Published:
        now = utcnow()
        actor = who.actor
        blob = await session.scalar(select(PackageBlob).where(PackageBlob.sha256 == digests.sha256))
        if blob is None:
            session.add(
                PackageBlob(
                    sha256=digests.sha256,
                    size=digests.size,
                    md5=digests.md5,
                    sha512=digests.sha512,
                    chunk_size=digests.chunk_size,
                    chunks=orjson.dumps(digests.chunks).decode(),
                    created_at=now,
                    last_used_at=now,
                )
            )
        else:
            blob.last_used_at = now
            if blob.quarantined_at is not None:  # the right bytes were just stored again
                blob.quarantined_at = blob.quarantine_reason = None
                blob.verified_at = now
        current = await self._package(session, filename)
        outcome: Outcome
        if current is None:
            current = Package(
                filename=filename,
                sha256=digests.sha256,
                size=digests.size,
                uploader=actor,
                created_at=now,
                uploaded_at=now,
                updated_at=now,
            )
            session.add(current)
            outcome = "created"
            detail = None
        elif current.sha256 == digests.sha256:
            await session.flush()
            return Published(await self._info(session, current), "unchanged")
        elif not replace:
            raise _exists(filename)
        else:
            session.add(_history(current, now, "replaced"))
            detail = {"previousSha256": current.sha256}
            current.sha256, current.size = digests.sha256, digests.size
            current.uploader, current.uploaded_at, current.updated_at = actor, now, now
            outcome = "replaced"
        await session.flush()
        session.add(
            _event("uploaded" if outcome == "created" else "replaced", current, actor, detail)
        )
        line = f"{digests.size} bytes, SHA-256 {digests.sha256}"
        if detail is not None:
            line += f" (was {detail['previousSha256']})"
        action = "package.upload" if outcome == "created" else "package.replace"
        await record(session, who, action, f"package:{filename}", line, at=now)
        return Published(await self._info(session, current), outcome)

    # -- records ------------------------------------------------------------------------------

    async def _package(self, session: AsyncSession, filename: str) -> Package | None:
        return await session.scalar(select(Package).where(Package.filename == filename))

    async def _info(self, session: AsyncSession, row: Package) -> PackageInfo:
        return (await self._infos(session, [row]))[0]

    async def _infos(self, session: AsyncSession, rows: Sequence[Package]) -> list[PackageInfo]:
        if not rows:
            return []
        blobs = {
            b.sha256: b
            for b in await session.scalars(
                select(PackageBlob).where(PackageBlob.sha256.in_({r.sha256 for r in rows}))
            )
        }
        tags: dict[int, list[str]] = {}
        for package_pk, tag in await session.execute(
            select(PackageTag.package_pk, PackageTag.tag)
            .where(PackageTag.package_pk.in_([r.pk for r in rows]))
            .order_by(PackageTag.tag)
        ):
            tags.setdefault(package_pk, []).append(tag)
        infos = []
        for row in rows:
            blob = blobs[row.sha256]
            infos.append(
                PackageInfo(
                    filename=row.filename,
                    size=row.size,
                    sha256=row.sha256,
                    md5=blob.md5,
                    sha512=blob.sha512,
                    chunk_size=blob.chunk_size,
                    chunk_count=-(-row.size // blob.chunk_size),
                    notes=row.notes,
                    tags=tags.get(row.pk, []),
                    uploader=row.uploader,
                    created_at=row.created_at,
                    uploaded_at=row.uploaded_at,
                    updated_at=row.updated_at,
                    verified_at=blob.verified_at,
                    quarantined=blob.quarantine_reason if blob.quarantined_at else None,
                )
            )
        return infos

    async def get(self, filename: str) -> PackageInfo:
        async with self.db.sessions() as session:
            row = await self._package(session, filename)
            if row is None:
                raise NotFound(f"no package named '{filename}'")
            return await self._info(session, row)

    async def manifest(self, filename: str) -> tuple[PackageInfo, list[str]]:
        """The package and the SHA-256 of each of its chunks, in order."""
        async with self.db.sessions() as session:
            row = await self._package(session, filename)
            if row is None:
                raise NotFound(f"no package named '{filename}'")
            blob = await session.scalar(select(PackageBlob).where(PackageBlob.sha256 == row.sha256))
            assert blob is not None
            return await self._info(session, row), orjson.loads(blob.chunks)

    async def locate(self, filename: str) -> Located:
        async with self.db.sessions() as session:
            found = (
                await session.execute(
                    select(
                        Package.sha256,
                        Package.size,
                        Package.uploaded_at,
                        PackageBlob.quarantine_reason,
                    )
                    .join(PackageBlob, PackageBlob.sha256 == Package.sha256)
                    .where(Package.filename == filename)
                )
            ).first()
        if found is None:
            raise NotFound(f"no package named '{filename}'")
        sha256, size, uploaded_at, quarantined = found
        if quarantined is not None:
            raise Conflict(
                f"'{filename}' is quarantined: {quarantined}. Upload the package again "
                "(PUT with ?replace=true, or tus) to restore it."
            )
        return Located(filename, sha256, size, uploaded_at, blob_key(sha256))

    async def search(self, *, query: str | None, tag: str | None, offset: int, limit: int) -> Page:
        where = []
        if query:
            pattern = f"%{query.lower()}%"
            where.append(
                or_(
                    func.lower(Package.filename).like(pattern),
                    func.lower(Package.notes).like(pattern),
                )
            )
        if tag:
            where.append(exists().where(PackageTag.package_pk == Package.pk, PackageTag.tag == tag))
        async with self.db.sessions() as session:
            total = await session.scalar(select(func.count()).select_from(Package).where(*where))
            rows = list(
                await session.scalars(
                    select(Package)
                    .where(*where)
                    .order_by(Package.filename)
                    .offset(offset)
                    .limit(limit)
                )
            )
            return Page(await self._infos(session, rows), total or 0)

    async def update(
        self, filename: str, *, who: Who, notes: Any = _UNSET, tags: Any = _UNSET
    ) -> PackageInfo:
        """Change notes (a string, or None to clear) and/or replace the stage tags."""
        problems = []
        if notes is not _UNSET and notes is not None and not isinstance(notes, str):
            problems.append(Problem("/notes", "notes are a string or null"))
        if tags is not _UNSET:
            if not isinstance(tags, list):
                problems.append(Problem("/tags", "tags are a list of strings"))
            else:
                for index, tag in enumerate(tags):
                    if not isinstance(tag, str) or not re.fullmatch(TAG_PATTERN, tag):
                        problems.append(
                            Problem(
                                f"/tags/{index}",
                                "a tag has 1 to 64 letters, digits, '.', '_', ':' or '-'",
                            )
                        )
        if problems:
            raise Invalid(problems)
        async with self.db.transaction() as session:
            row = await self._package(session, filename)
            if row is None:
                raise NotFound(f"no package named '{filename}'")
            changes: dict[str, Any] = {}
            if notes is not _UNSET and notes != row.notes:
                row.notes = notes
                changes["notes"] = notes
            if tags is not _UNSET:
                wanted = sorted(set(tags))
                await session.execute(delete(PackageTag).where(PackageTag.package_pk == row.pk))
                session.add_all(PackageTag(package_pk=row.pk, tag=t) for t in wanted)
                changes["tags"] = wanted
            if changes:
                row.updated_at = utcnow()
                session.add(_event("updated", row, who.actor, changes))
                await record(
                    session,
                    who,
                    "package.update",
                    f"package:{filename}",
                    _changes_line(changes),
                    at=row.updated_at,
                )
            await session.flush()
            return await self._info(session, row)

    async def delete(self, filename: str, *, who: Who) -> None:
        """Remove the package; its content stays in the history until the retention passes."""
        async with self.db.transaction() as session:
            row = await self._package(session, filename)
            if row is None:
                raise NotFound(f"no package named '{filename}'")
            now = utcnow()
            session.add(_history(row, now, "deleted"))
            session.add(_event("deleted", row, who.actor, None))
            line = f"{row.size} bytes, SHA-256 {row.sha256} kept in the history"
            await record(session, who, "package.delete", f"package:{filename}", line, at=now)
            await session.execute(delete(PackageTag).where(PackageTag.package_pk == row.pk))
            await session.delete(row)

    async def events(self, filename: str | None = None) -> list[PackageEvent]:
        async with self.db.sessions() as session:
            where = [PackageEvent.filename == filename] if filename else []
            return list(
                await session.scalars(select(PackageEvent).where(*where).order_by(PackageEvent.pk))
            )

    # -- cleanup ------------------------------------------------------------------------------

    async def cleanup(self, now: datetime | None = None) -> CleanupReport:
        """Remove expired uploads, expired history and bytes nothing refers to any more.

        Bytes are removed only when unreferenced for longer than the upload expiry, so that a
        publish in progress (stored, not yet recorded) is never robbed of its blob.
        """
        now = now or utcnow()
        grace = now - timedelta(hours=self.settings.upload_expiry_hours)
        report = CleanupReport()
        async with self.db.sessions() as session:
            stale = list(
                await session.scalars(
                    select(PackageUpload.upload_id).where(PackageUpload.updated_at < grace)
                )
            )
        for upload_id in stale:
            try:
                await self.terminate(upload_id)
                report.uploads += 1
            except NotFound:
                pass
        async with self.db.sessions() as session:
            open_uploads = set(await session.scalars(select(PackageUpload.upload_id)))
            pending = list(
                await session.execute(select(PackagePending.pending_id, PackagePending.created_at))
            )
        open_uploads |= {pending_id for pending_id, _ in pending}
        stall = now - timedelta(minutes=10)
        report.stalled = [pending_id for pending_id, created in pending if created < stall]
        for path in self.upload_dir.glob("*.part"):
            upload_id = path.stem.removeprefix("tus-").removeprefix("pending-")
            if upload_id in open_uploads:
                continue
            try:
                if path.stat().st_mtime < grace.timestamp():
                    path.unlink()
                    report.partial_files += 1
            except FileNotFoundError:
                pass
        keep_after = now - timedelta(days=self.settings.package_history_days)
        async with self.db.transaction() as session:
            result = await session.execute(
                delete(PackageHistory).where(PackageHistory.superseded_at < keep_after)
            )
            report.history = result.rowcount  # type: ignore[attr-defined]
        async with self.db.transaction() as session:
            unused = list(
                await session.scalars(
                    select(PackageBlob).where(
                        PackageBlob.last_used_at < grace,
                        ~exists().where(Package.sha256 == PackageBlob.sha256),
                        ~exists().where(PackageHistory.sha256 == PackageBlob.sha256),
                        ~exists().where(PackagePending.sha256 == PackageBlob.sha256),
                    )
                )
            )
            for blob in unused:
                await session.delete(blob)
        for blob in unused:
            await to_thread.run_sync(self.storage.delete, blob_key(blob.sha256))
            report.blobs += 1
            report.removed_keys.append(blob_key(blob.sha256))
        async with self.db.sessions() as session:
            known = set(await session.scalars(select(PackageBlob.sha256)))
            known |= set(await session.scalars(select(PackagePending.sha256)))
        objects = await to_thread.run_sync(lambda: list(self.storage.list("blobs/")))
        for item in objects:
            if item.key.rsplit("/", 1)[-1] not in known and item.modified < grace:
                await to_thread.run_sync(self.storage.delete, item.key)
                report.orphans += 1
                report.removed_keys.append(item.key)
        return report

    # -- scrub --------------------------------------------------------------------------------

    async def scrub(self) -> ScrubReport:
        """Read every stored blob back; quarantine those whose bytes no longer match.

        Each blob is checked against the SHA-256 it is stored under. A quarantined blob's
        packages answer 409 on download and show ``quarantined`` in their record, and a
        ``quarantined`` event is recorded for each, until the content is uploaded again.
        """
        report = ScrubReport()
        async with self.db.sessions() as session:
            blobs = list(
                await session.execute(
                    select(PackageBlob.sha256, PackageBlob.size).where(
                        PackageBlob.quarantined_at.is_(None)
                    )
                )
            )
        for sha256, size in blobs:
            found, length = await to_thread.run_sync(self._rehash, blob_key(sha256))
            report.checked += 1
            report.bytes += length
            if found == sha256 and length == size:
                async with self.db.transaction() as session:
                    await session.execute(
                        update(PackageBlob)
                        .where(PackageBlob.sha256 == sha256)
                        .values(verified_at=utcnow())
                    )
                continue
            reason = (
                "its stored file is missing"
                if found is None
                else f"its stored bytes changed ({length} bytes with SHA-256 {found}, "
                f"expected {size} bytes with SHA-256 {sha256})"
            )
            names = await self._quarantine(sha256, reason)
            log.warning("scrub: quarantined %s (%s): %s", sha256, ", ".join(names), reason)
            report.quarantined.append({"sha256": sha256, "reason": reason})
        return report

    def _rehash(self, key: str) -> tuple[str | None, int]:
        if self.storage.stat(key) is None:
            return None, 0
        digest = hashlib.sha256()
        length = 0
        for chunk in self.storage.open_range(key):
            digest.update(chunk)
            length += len(chunk)
        return digest.hexdigest(), length

    async def _quarantine(self, sha256: str, reason: str) -> list[str]:
        now = utcnow()
        async with self.db.transaction() as session:
            await session.execute(
                update(PackageBlob)
                .where(PackageBlob.sha256 == sha256)
                .values(quarantined_at=now, quarantine_reason=reason)
            )
            rows = list(await session.scalars(select(Package).where(Package.sha256 == sha256)))
            for row in rows:
                session.add(_event("quarantined", row, "scrub", {"reason": reason}))
                await record(
                    session, SCRUB, "package.quarantine", f"package:{row.filename}", reason, at=now
                )
        return [row.filename for row in rows]


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""


def _exists(filename: str) -> Conflict:
    return Conflict(
        f"a package named '{filename}' exists with other content; "
        "add ?replace=true to replace it (the old content is kept in the history)"
    )


def _changes_line(changes: dict[str, Any]) -> str:
    """``notes set; tags: dev, prod`` for the audit log."""
    parts = []
    if "notes" in changes:
        parts.append("notes cleared" if changes["notes"] is None else "notes set")
    if "tags" in changes:
        parts.append(f"tags: {', '.join(changes['tags']) or '(none)'}")
    return "; ".join(parts)


def _history(row: Package, now: datetime, reason: str) -> PackageHistory:
    return PackageHistory(
        filename=row.filename,
        sha256=row.sha256,
        size=row.size,
        uploader=row.uploader,
        uploaded_at=row.uploaded_at,
        superseded_at=now,
        reason=reason,
    )


def _event(kind: str, row: Package, actor: str, detail: dict[str, Any] | None) -> PackageEvent:
    return PackageEvent(
        kind=kind,
        filename=row.filename,
        sha256=row.sha256,
        size=row.size,
        actor=actor,
        created_at=utcnow(),
        detail=orjson.dumps(detail).decode() if detail is not None else None,
    )
