"""Partial files: where an upload's bytes are appended and hashed on the way in.

Each block is written and hashed on a worker thread while the next is read from the request,
so receiving and hashing overlap and memory stays a few blocks per upload whatever its size.
"""

from __future__ import annotations

import asyncio
import os
from collections import OrderedDict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

import anyio
from anyio import to_thread

from pomona.errors import TooLarge
from pomona.packages.hashing import CHUNK_SIZE, Ingest

# Uploads are written and hashed in blocks of this size: each block costs a few hand-overs of
# the GIL between the event loop and the hashing threads, so larger blocks leave more of the
# two cores to the work (4 MiB measured about 10% faster than 1 MiB), for a few MiB per upload.
WRITE_BLOCK = 4 * CHUNK_SIZE


class Check(Protocol):
    """A hash of the piece being received, compared with the checksum its sender gave."""

    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


class Partial:
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

    async def receive(
        self, chunks: AsyncIterator[bytes], limit: int, check: Check | None = None
    ) -> int:
        """Append ``chunks`` in blocks of ``WRITE_BLOCK``; more than ``limit`` bytes is refused.

        What was received is written even when the stream breaks off, so that a resumed upload
        continues from there.
        """
        out = await to_thread.run_sync(self.path.open, "ab")

        def append(parts: list[bytes]) -> None:
            # One block, not its pieces: each call into hashlib or the file gives up the GIL and
            # must win it back from the event loop, so fewer, larger calls are faster overall.
            block = parts[0] if len(parts) == 1 else b"".join(parts)
            out.write(block)
            self.ingest.update(block)

        loop = asyncio.get_running_loop()
        received = 0
        parts: list[bytes] = []
        held = 0  # bytes in parts
        writing: asyncio.Future[None] | None = None
        try:
            async for chunk in chunks:
                received += len(chunk)
                if received > limit:
                    raise TooLarge(
                        f"the body is longer than the {limit} bytes expected", code="body_too_long"
                    )
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


class HashStates:
    """The running hashes of the uploads this process received pieces of, kept for the next.

    A cache, not the upload's state (that is its row and its partial file, which every process
    sees): an entry only spares hashing again bytes this process hashed already, and whoever
    takes one checks it against the recorded offset. An entry is taken out while a piece is
    being received, so no two requests share one. The oldest are dropped beyond ``size``.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._states: OrderedDict[str, Ingest] = OrderedDict()

    def take(self, upload_id: str) -> Ingest | None:
        return self._states.pop(upload_id, None)

    def keep(self, upload_id: str, ingest: Ingest) -> None:
        self._states[upload_id] = ingest
        while len(self._states) > self.size:
            self._states.popitem(last=False)
