"""All of a package's hashes in one pass over its bytes.

One pass computes the SHA-256 (a package's identity and ETag), the MD5 and SHA-512 (the hash
types Jamf Pro package records use) and a manifest: the SHA-256 of every 1 MiB chunk, which
replication uses to fetch, verify and resume chunk by chunk.

The bytes are fed in blocks of 1 MiB or more, so the cost is the hashing itself (OpenSSL).
MD5 and SHA-512 have no hardware help and cost about twice a SHA-256 each, so a large block is
hashed on two threads at once: SHA-256 and SHA-512 on a helper, MD5 and the chunk digest on the
caller's (``hashlib`` releases the GIL on large blocks). The pass then takes the time of the
slower pair rather than of all four.

Resumed uploads. ``hashlib`` objects cannot be saved (their state is not exported), so a hash
state cannot be written to the database. A resumable upload's state there is its offset; the
bytes up to it are in its partial file, which never changes below the recorded offset. So a
process that takes up an upload continues the hashes it still holds from an earlier piece (see
:class:`pomona.packages.partials.HashStates`), hashing only the bytes other processes appended
meanwhile, and otherwise hashes the partial file again up to the offset, at disk speed. Either
way the hashes describe exactly the bytes in the file, so they cannot come out wrong.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHUNK_SIZE = 1024 * 1024  # manifest chunk; also the write block of uploads
SPLIT_FROM = 256 * 1024  # smaller blocks are hashed on one thread: handing over costs more

_helpers = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="pomona-hash")


@dataclass(frozen=True, slots=True)
class Digests:
    size: int
    sha256: str
    md5: str
    sha512: str
    chunk_size: int
    chunks: list[str] = field(repr=False)


class Ingest:
    """Running hashes of a stream of bytes."""

    def __init__(self) -> None:
        self.size = 0
        self._sha256: Any = hashlib.sha256()
        self._md5: Any = hashlib.md5(usedforsecurity=False)
        self._sha512: Any = hashlib.sha512()
        self._chunk: Any = hashlib.sha256()
        self._chunk_fill = 0
        self._chunks: list[str] = []

    def copy(self) -> Ingest:
        """An independent copy, to roll back to if a piece turns out to be corrupt."""
        twin = Ingest()
        twin.size = self.size
        twin._sha256 = self._sha256.copy()
        twin._md5 = self._md5.copy()
        twin._sha512 = self._sha512.copy()
        twin._chunk = self._chunk.copy()
        twin._chunk_fill = self._chunk_fill
        twin._chunks = list(self._chunks)
        return twin

    def _update_chunks(self, data: memoryview) -> None:
        position = 0
        while position < len(data):
            take = min(CHUNK_SIZE - self._chunk_fill, len(data) - position)
            self._chunk.update(data[position : position + take])
            self._chunk_fill += take
            position += take
            if self._chunk_fill == CHUNK_SIZE:
                self._chunks.append(self._chunk.hexdigest())
                self._chunk = hashlib.sha256()
                self._chunk_fill = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        # SHA-256 and SHA-512 on a helper thread, MD5 and the chunk digest on this one: the
        # halves touch disjoint hash objects, so they may run at the same time.
        pair = (self._sha256, self._sha512)
        helper = _helpers.submit(_feed, pair, view) if len(view) >= SPLIT_FROM else None
        if helper is None:
            _feed(pair, view)
        self._md5.update(view)
        self._update_chunks(view)
        if helper is not None:
            helper.result()
        self.size += len(view)

    def finish(self) -> Digests:
        chunks = list(self._chunks)
        if self._chunk_fill:
            chunks.append(self._chunk.hexdigest())
        return Digests(
            size=self.size,
            sha256=self._sha256.hexdigest(),
            md5=self._md5.hexdigest(),
            sha512=self._sha512.hexdigest(),
            chunk_size=CHUNK_SIZE,
            chunks=chunks,
        )


def _feed(hashes: tuple[Any, ...], view: memoryview) -> None:
    for digest in hashes:
        digest.update(view)


def hash_file(
    path: Path,
    *,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
    ingest: Ingest | None = None,
) -> Ingest:
    """Hash the first ``limit`` bytes (default: all) of ``path``; given ``ingest``, the hashes
    of the file's first ``ingest.size`` bytes, continue it from there."""
    ingest = ingest or Ingest()
    if limit is not None and ingest.size >= limit:
        return ingest
    buffer = bytearray(4 * CHUNK_SIZE)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as source:
        source.seek(ingest.size)
        while limit is None or ingest.size < limit:
            want = len(buffer) if limit is None else min(len(buffer), limit - ingest.size)
            got = source.readinto(view[:want])
            if not got:
                break
            ingest.update(view[:got])
            if progress is not None:
                progress(ingest.size)
    return ingest
