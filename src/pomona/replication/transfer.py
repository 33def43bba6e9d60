"""The receiving side of one transfer: the manifest, then the chunks over parallel Range
requests, each verified as it lands and recorded, then the whole file verified.

Each stream is read on a worker thread (:mod:`.ranges`), which checks each chunk and writes it
into the partial file; the event loop then records it (``replication_chunks``) before that
stream reads on. After a killed process or a broken link the transfer resumes from the recorded
chunks, so what was in flight on each stream is all that is fetched again. The file is flushed
to disk as it fills and synced whole at the end; what a power cut loses of recorded chunks is
caught by the whole file's SHA-256, and the transfer starts over. A chunk that does not match
its SHA-256 is fetched from another peer that has the same content, when one does.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from anyio import CapacityLimiter, from_thread, to_thread
from sqlalchemy import delete, insert, select, update

from pomona.characters import is_hex_digest
from pomona.db import Database, utcnow
from pomona.errors import ChecksumMismatch
from pomona.packages.hashing import Digests
from pomona.replication.client import PeerClient, PeerError, Ranged, Target
from pomona.replication.landing import InOrder
from pomona.replication.models import Peer, Transfer, TransferChunk
from pomona.replication.ranges import RangeReader
from pomona.replication.throttle import Buckets
from pomona.settings import Settings

log = logging.getLogger("pomona.replication")

NOTE_EVERY = 0.5  # seconds between writes of a running transfer's progress
FLUSH_EVERY = 64 * 1024 * 1024  # bytes landed between two flushes of the partial file to disk
# Threads reading streams hold them for a whole run of chunks: their own limit keeps them from
# taking every thread of the default limiter (40), which short file and hashing work shares.
READERS = 64


@dataclass(frozen=True, slots=True)
class Wanted:
    """A package a peer's change log says this site should have."""

    filename: str
    sha256: str
    size: int


class Corrupt(ChecksumMismatch):
    """A chunk came wrong from every peer that has the content."""


def hold_for(settings: Settings) -> timedelta:
    """How long a pull holds its peer without landing a chunk: a pull killed with its process
    lets the next one in after this (the hold is renewed with every chunk)."""
    return timedelta(seconds=2 * max(settings.queue_lease_seconds, 5))


def _write(path: Path, offset: int, data: bytes) -> None:
    # Not synced chunk by chunk: a chunk recorded and then lost with the machine (power, not a
    # killed process, which leaves it in the page cache) is caught when the resumed transfer
    # hashes what it has, and the transfer starts over; the file is synced once, whole.
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, data, offset)
    finally:
        os.close(fd)


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prepare(path: Path, size: int) -> None:
    with path.open("ab") as out:
        if out.tell() != size:
            out.truncate(size)


class Fetcher:
    def __init__(
        self, db: Database, settings: Settings, client: PeerClient, buckets: Buckets
    ) -> None:
        self.db = db
        self.settings = settings
        self.client = client
        self.buckets = buckets
        self.directory = settings.resolved_upload_dir
        self.directory.mkdir(parents=True, exist_ok=True)
        self._readers: CapacityLimiter | None = None

    @property
    def readers(self) -> CapacityLimiter:
        """The threads the streams read on (made on first use, inside the event loop)."""
        if self._readers is None:
            self._readers = CapacityLimiter(READERS)
        return self._readers

    def partial_path(self, transfer: Transfer) -> Path:
        return self.directory / f"replica-{transfer.pk}-{transfer.sha256[:16]}.part"

    async def transfer_for(self, peer: Peer, wanted: Wanted, target: Target) -> Transfer:
        """The transfer of ``wanted`` from ``peer``: the one under way, or a new one with the
        manifest just fetched (a different content under the name starts over)."""
        async with self.db.sessions() as session:
            row = await session.scalar(
                select(Transfer).where(
                    Transfer.peer_pk == peer.pk, Transfer.filename == wanted.filename
                )
            )
        if row is not None and row.sha256 == wanted.sha256 and row.md5 is not None:
            return row
        manifest = await self.client.call(target, "GET", f"/blobs/{wanted.sha256}/manifest")
        chunks, chunk_size = manifest["chunks"], int(manifest["chunkSize"])
        size = int(manifest["size"])
        md5, sha512 = manifest.get("md5"), manifest.get("sha512")
        if (
            manifest["sha256"] != wanted.sha256
            or len(chunks) != -(-size // chunk_size)
            or not is_hex_digest(md5, 32)
            or not is_hex_digest(sha512, 128)
        ):
            raise PeerError(f"{peer.url} sent a manifest that does not describe {wanted.sha256}")
        now = utcnow()
        async with self.db.transaction() as session:
            if row is not None:
                old = await session.get(Transfer, row.pk)
                if old is not None:
                    self.partial_path(old).unlink(missing_ok=True)
                    await session.delete(old)
                    await session.flush()
            row = Transfer(
                peer_pk=peer.pk,
                filename=wanted.filename,
                sha256=wanted.sha256,
                size=size,
                chunk_size=chunk_size,
                chunks=orjson.dumps(chunks).decode(),
                md5=md5,
                sha512=sha512,
                state="queued",
                received=0,
                rate=0,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
        return row

    async def set_state(self, transfer: Transfer, state: str, error: str | None = None) -> None:
        async with self.db.transaction() as session:
            row = await session.get(Transfer, transfer.pk)
            if row is not None:
                row.state, row.updated_at = state, utcnow()
                row.last_error = error[:2000] if error else None
                if state != "running":
                    row.rate = 0
        transfer.state = state

    async def fetch(
        self, peer: Peer, transfer: Transfer, sources: Sequence[Target]
    ) -> tuple[Path, Digests]:
        """Fetch what is missing of ``transfer`` from ``sources`` (the announcing peer first,
        then the others, for chunks that come wrong); the verified file and its digests."""
        path = self.partial_path(transfer)
        await to_thread.run_sync(_prepare, path, transfer.size)
        async with self.db.sessions() as session:
            done = set(
                await session.scalars(
                    select(TransferChunk.chunk).where(TransferChunk.transfer_pk == transfer.pk)
                )
            )
        chunks: list[str] = orjson.loads(transfer.chunks)
        missing = [i for i in range(len(chunks)) if i not in done]
        await self.set_state(transfer, "running")
        run = _Run(self, peer, transfer, path, chunks, sources, len(done))
        for index in sorted(done):  # what a resumed transfer has is hashed from the file
            await run.hashes.landed(index, None)
        await run.go(missing)
        digests = await run.hashes.finish()
        spent = time.monotonic() - run.started
        log.info(
            "fetched %d bytes of %s from %s in %.1f s (%.0f MiB/s)",
            run.fresh,
            transfer.filename,
            peer.name,
            spent,
            run.fresh / max(spent, 1e-3) / 2**20,
        )
        await to_thread.run_sync(_sync, path)
        if digests.sha256 != transfer.sha256 or digests.chunks != chunks:
            # A chunk changed on disk after it was recorded: start again from nothing.
            async with self.db.transaction() as session:
                await session.execute(
                    delete(TransferChunk).where(TransferChunk.transfer_pk == transfer.pk)
                )
            raise Corrupt(
                f"the received file's SHA-256 is {digests.sha256}, not {transfer.sha256}",
                code="replica_corrupt",
            )
        return path, digests

    async def forget(self, transfer: Transfer, *, keep_file: bool = False) -> None:
        async with self.db.transaction() as session:
            row = await session.get(Transfer, transfer.pk)
            if row is not None:
                row.state, row.rate, row.received = "done", 0, row.size
                row.last_error, row.updated_at = None, utcnow()
                await session.execute(
                    delete(TransferChunk).where(TransferChunk.transfer_pk == transfer.pk)
                )
        if not keep_file:
            self.partial_path(transfer).unlink(missing_ok=True)


class _Run:
    """One attempt at the missing chunks of a transfer, over parallel streams."""

    def __init__(
        self,
        fetcher: Fetcher,
        peer: Peer,
        transfer: Transfer,
        path: Path,
        chunks: list[str],
        sources: Sequence[Target],
        have: int,
    ) -> None:
        self.fetcher = fetcher
        self.settings = fetcher.settings
        self.peer = peer
        self.transfer = transfer
        self.path = path
        self.chunks = chunks
        self.sources = sources
        self.received = min(have * transfer.chunk_size, transfer.size)
        self.started = time.monotonic()
        self.fresh = 0  # bytes fetched in this run, for the rate
        self.bucket = fetcher.buckets.peer(peer.peer_id, peer.rate_limit)
        # transfer_for never hands out a transfer without them
        assert transfer.md5 is not None
        assert transfer.sha512 is not None
        known = (transfer.md5, transfer.sha512)
        self.hashes = InOrder(path, transfer.size, transfer.chunk_size, chunks, known)
        self.noted = 0.0  # when the transfer's row and the peer's hold were last written
        self.stopped = False  # set when a stream fails: no thread lands a chunk after that
        self.flushed = self.received  # bytes landed when the last flush to disk began
        self.flushing: asyncio.Task[None] | None = None
        self._pending: list[int] = []  # chunks landed and not yet recorded (see _record)
        self._recording = asyncio.Lock()

    def _span(self, index: int) -> tuple[int, int]:
        start = index * self.transfer.chunk_size
        return start, min(start + self.transfer.chunk_size, self.transfer.size)

    async def go(self, missing: list[int]) -> None:
        per = self.settings.replication_chunks_per_request
        runs: asyncio.Queue[list[int]] = asyncio.Queue()
        current: list[int] = []
        for index in missing:
            if current and (index != current[-1] + 1 or len(current) == per):
                runs.put_nowait(current)
                current = []
            current.append(index)
        if current:
            runs.put_nowait(current)
        streams = [
            asyncio.create_task(self._stream(runs))
            for _ in range(min(self.settings.replication_streams, runs.qsize()))
        ]
        try:
            await asyncio.gather(*streams)
        finally:
            for stream in streams:
                stream.cancel()
            if self.flushing is not None:
                await asyncio.gather(self.flushing, return_exceptions=True)

    def _flush_now_and_then(self) -> None:
        """Start writing what has landed to disk every FLUSH_EVERY bytes, one flush at a time,
        while the transfer goes on: the file is synced whole before it is published, and that
        sync then has only the last stretch left to write instead of the whole file."""
        if self.received - self.flushed < FLUSH_EVERY:
            return
        if self.flushing is not None and not self.flushing.done():
            return
        self.flushed = self.received
        self.flushing = asyncio.create_task(to_thread.run_sync(_sync, self.path))

    async def _stream(self, runs: asyncio.Queue[list[int]]) -> None:
        """Fetch runs of chunks until none is left, over one connection read on a thread."""
        reader = RangeReader(self.settings.replication_timeout_seconds)
        try:
            while not runs.empty() and not self.stopped:
                run = runs.get_nowait()
                start, _ = self._span(run[0])
                _, end = self._span(run[-1])
                request = await self.fetcher.client.ranged(
                    self.sources[0], f"/blobs/{self.transfer.sha256}", start, end
                )
                await to_thread.run_sync(
                    self._pull,
                    reader,
                    request,
                    run,
                    abandon_on_cancel=True,
                    limiter=self.fetcher.readers,
                )
        except BaseException:
            # Failed or cancelled (another stream failed, the process stops): a thread let go
            # lands nothing more, and closing its connection wakes it from its read.
            self.stopped = True
            raise
        finally:
            reader.close()

    def _pull(self, reader: RangeReader, request: Ranged, run: list[int]) -> None:
        """On a worker thread: read each chunk of ``run``, check it, write it, land it."""
        spans = [self._span(index) for index in run]
        fd = os.open(self.path, os.O_WRONLY)
        try:
            pieces = reader.chunks(request, [end - start for start, end in spans])
            for index, (start, _), data in zip(run, spans, pieces, strict=True):
                good = hashlib.sha256(data).hexdigest() == self.chunks[index]
                if good:
                    os.pwrite(fd, data, start)
                if self.stopped:
                    return
                from_thread.run(self._land, index, data if good else None)
        finally:
            os.close(fd)

    async def _land(self, index: int, data: bytes | None) -> None:
        """Record a chunk that is written (``data``), or fetch one that came wrong (None) from
        another source first."""
        if self.stopped:
            return
        if data is None:
            log.warning(
                "chunk %d of %s from %s does not match its SHA-256; trying another peer",
                index,
                self.transfer.filename,
                self.peer.url,
            )
            data = await self._elsewhere(index)
            await to_thread.run_sync(_write, self.path, self._span(index)[0], data)
        # Taken after the chunk, before the stream reads on: the stream keeps to the rate.
        await self.bucket.take(len(data))
        await self.fetcher.buckets.overall.take(len(data))
        self.received += len(data)
        self.fresh += len(data)
        self._flush_now_and_then()
        await self._record(index)
        await self.hashes.landed(index, data)

    async def _record(self, index: int) -> None:
        """Record chunk ``index`` as landed, in the database, before its stream reads on.

        Group commit: the chunks that land while a record is being written wait for the lock
        together, and the first of them to get it writes them all in one transaction. With
        several streams that is a commit for two to four chunks instead of one each (a commit
        costs about as much Python as everything else a chunk does on the event loop)."""
        self._pending.append(index)
        async with self._recording:
            if not self._pending:
                return  # written with an earlier group
            indexes, self._pending = self._pending, []
            now = time.monotonic()
            note = now - self.noted >= NOTE_EVERY or self.received >= self.transfer.size
            async with self.fetcher.db.transaction() as session:
                await session.execute(
                    insert(TransferChunk),
                    [{"transfer_pk": self.transfer.pk, "chunk": i} for i in indexes],
                )
                if note:
                    self.noted = now
                    rate = int(self.fresh / max(now - self.started, 1e-3))
                    await session.execute(
                        update(Transfer)
                        .where(Transfer.pk == self.transfer.pk)
                        .values(received=self.received, rate=rate, updated_at=utcnow())
                    )
                    # Still pulling: renew the hold on the peer (see hold_for).
                    held = utcnow() + hold_for(self.settings)
                    await session.execute(
                        update(Peer).where(Peer.pk == self.peer.pk).values(pulling_until=held)
                    )

    async def _elsewhere(self, index: int) -> bytes:
        start, end = self._span(index)
        for source in self.sources[1:]:
            try:
                async with self.fetcher.client.stream(
                    source, f"/blobs/{self.transfer.sha256}", start, end
                ) as answer:
                    data = await answer.aread()
            except PeerError as exc:
                log.info("chunk %d not available from %s: %s", index, source.url, exc)
                continue
            if hashlib.sha256(data).hexdigest() == self.chunks[index]:
                return data
        raise Corrupt(
            f"chunk {index} of {self.transfer.filename} does not match its SHA-256 from any "
            "peer that has it",
            code="chunk_corrupt",
        )


def progress(transfer: Transfer) -> dict[str, Any]:
    return {
        "filename": transfer.filename,
        "sha256": transfer.sha256,
        "state": transfer.state,
        "received": transfer.received,
        "rate": transfer.rate,
        "error": transfer.last_error,
    }
