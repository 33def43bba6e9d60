"""The replica's hashing of chunks as they land (:mod:`pomona.replication.landing`), on a real
file: what landed in memory is hashed as given, what a resumed transfer already had is read
back and checked against the manifest again."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from pomona.replication.landing import InOrder

CHUNK = 1024
KNOWN = ("0" * 32, "0" * 128)


def _content() -> bytes:
    return b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(100))  # 3,200 bytes


def _manifest(data: bytes) -> list[str]:
    return [hashlib.sha256(data[i : i + CHUNK]).hexdigest() for i in range(0, len(data), CHUNK)]


def test_chunks_landing_out_of_order_give_the_whole_files_sha256(tmp_path: Path) -> None:
    data = _content()
    path = tmp_path / "file.part"
    path.write_bytes(data)
    chunks = _manifest(data)
    hashes = InOrder(path, len(data), CHUNK, chunks, KNOWN, hold=1)

    async def land() -> None:
        # 3 and 2 land first; the second of them is beyond what may wait in memory and is
        # read back from the file when its turn comes.
        for index in (3, 2, 0, 1):
            await hashes.landed(index, data[index * CHUNK : (index + 1) * CHUNK])

    asyncio.run(land())
    digests = asyncio.run(hashes.finish())
    assert digests.sha256 == hashlib.sha256(data).hexdigest()
    assert digests.chunks == chunks
    assert (digests.md5, digests.sha512) == KNOWN
    assert digests.size == len(data)


def test_a_chunk_that_changed_on_disk_before_a_resume_shows_in_the_chunks(tmp_path: Path) -> None:
    data = _content()
    chunks = _manifest(data)
    changed = bytearray(data)
    changed[CHUNK + 5] ^= 0xFF
    path = tmp_path / "file.part"
    path.write_bytes(changed)
    hashes = InOrder(path, len(data), CHUNK, chunks, KNOWN)

    async def resume() -> None:
        for index in (0, 1):  # what the stopped transfer had recorded, read from the file
            await hashes.landed(index, None)
        for index in (2, 3):
            await hashes.landed(index, data[index * CHUNK : (index + 1) * CHUNK])

    asyncio.run(resume())
    digests = asyncio.run(hashes.finish())
    assert digests.chunks[1] != chunks[1]
    assert digests.chunks[:1] + digests.chunks[2:] == chunks[:1] + chunks[2:]
    assert digests.sha256 == hashlib.sha256(changed).hexdigest()
