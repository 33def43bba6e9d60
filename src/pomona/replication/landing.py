"""The whole file's SHA-256, computed while its chunks land in any order.

Chunks arrive over several streams, each fetching a run of consecutive chunks, so they land
nearly in order. Each is handed here once it is verified and written; the file's SHA-256 (its
content address, the one check that ties the chunks to the package) is fed the longest prefix
of the file that has landed, so hashing overlaps the transfer instead of reading the file again
at the end. Chunks that landed ahead of the prefix wait in memory up to ``hold`` of them, then
are read back from the file when their turn comes; so are the chunks a resumed transfer already
had, and those are checked against the manifest again on the way (the file may have changed
under a stopped process).

The MD5 and SHA-512 (for Jamf Pro's package records) are not computed again: they come in the
sender's manifest, from the ingest at the site where the bytes were first uploaded, and once the
SHA-256 matches these are those bytes. Taking them is taking the paired peer's word on its own
content, which replication does anyway (the peer chooses the content); hashing them here would
about triple the CPU a transfer costs the receiving site, as neither has hardware help.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from typing import Any

from anyio import to_thread

from pomona.packages.hashing import Digests


def _read(path: Path, offset: int, size: int) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, size, offset)
    finally:
        os.close(fd)


class InOrder:
    def __init__(
        self,
        path: Path,
        size: int,
        chunk_size: int,
        chunks: list[str],
        known: tuple[str, str],
        hold: int = 64,
    ) -> None:
        self.path = path
        self.size = size
        self.chunk_size = chunk_size
        self.hold = hold
        self.md5, self.sha512 = known
        self.next = 0
        # The chunks' hashes as far as this side knows them: those that landed were checked
        # on arrival; those read back from the file are hashed again and replaced if they differ.
        self.chunks = list(chunks)
        self._sha256: Any = hashlib.sha256()
        self._waiting: dict[int, bytes | None] = {}
        self._lock = asyncio.Lock()

    async def landed(self, index: int, data: bytes | None) -> None:
        """Chunk ``index`` is in the file (``data``: its verified bytes, when at hand)."""
        kept = data if data is not None and len(self._waiting) < self.hold else None
        self._waiting[index] = kept
        if self._lock.locked():
            return  # the stream hashing now takes this chunk too when its turn comes
        async with self._lock:
            while self.next in self._waiting:
                piece = self._waiting.pop(self.next)
                if piece is None:
                    await to_thread.run_sync(self._reread, self.next)
                else:
                    await to_thread.run_sync(self._sha256.update, piece)
                self.next += 1

    def _reread(self, index: int) -> None:
        start = index * self.chunk_size
        piece = _read(self.path, start, min(self.chunk_size, self.size - start))
        self.chunks[index] = hashlib.sha256(piece).hexdigest()
        self._sha256.update(piece)

    async def finish(self) -> Digests:
        async with self._lock:  # whatever landed while the last hashing ran
            pass
        if self.next in self._waiting:
            await self.landed(self.next, self._waiting.pop(self.next))
        count = len(self.chunks)
        if self.next != count:
            raise RuntimeError(f"{count - self.next} chunks never landed")
        return Digests(
            size=self.size,
            sha256=self._sha256.hexdigest(),
            md5=self.md5,
            sha512=self.sha512,
            chunk_size=self.chunk_size,
            chunks=self.chunks,
        )
