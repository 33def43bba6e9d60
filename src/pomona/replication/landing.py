"""The whole file's hashes, computed while its chunks land in any order.

Chunks arrive over several streams, each fetching a run of consecutive chunks, so they land
nearly in order. Each is handed here once it is verified and written; the hashes (the same
:class:`~pomona.packages.hashing.Ingest` a local upload uses: SHA-256, MD5, SHA-512 and the
chunk manifest) are fed the longest prefix of the file that has landed, so hashing overlaps
the transfer instead of reading the file again at the end. Chunks that landed ahead of the
prefix wait in memory up to ``hold`` of them, then are read back from the file when their turn
comes; so are the chunks a resumed transfer already had.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from anyio import to_thread

from pomona.packages.hashing import Digests, Ingest


def _read(path: Path, offset: int, size: int) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, size, offset)
    finally:
        os.close(fd)


class InOrder:
    def __init__(self, path: Path, size: int, chunk_size: int, hold: int = 64) -> None:
        self.path = path
        self.size = size
        self.chunk_size = chunk_size
        self.hold = hold
        self.ingest = Ingest()
        self.next = 0
        self.count = -(-size // chunk_size)
        self._waiting: dict[int, bytes | None] = {}
        self._lock = asyncio.Lock()

    async def landed(self, index: int, data: bytes | None) -> None:
        """Chunk ``index`` is in the file (``data``: its bytes, when at hand)."""
        kept = data if data is not None and len(self._waiting) < self.hold else None
        self._waiting[index] = kept
        if self._lock.locked():
            return  # the stream hashing now takes this chunk too when its turn comes
        async with self._lock:
            while self.next in self._waiting:
                piece = self._waiting.pop(self.next)
                if piece is None:
                    start = self.next * self.chunk_size
                    length = min(self.chunk_size, self.size - start)
                    piece = await to_thread.run_sync(_read, self.path, start, length)
                await to_thread.run_sync(self.ingest.update, piece)
                self.next += 1

    async def finish(self) -> Digests:
        async with self._lock:  # whatever landed while the last hashing ran
            pass
        if self.next in self._waiting:
            await self.landed(self.next, self._waiting.pop(self.next))
        if self.next != self.count:
            raise RuntimeError(f"{self.count - self.next} chunks never landed")
        return self.ingest.finish()
