"""The one-pass hashes agree with hashlib over the whole input, however the bytes are cut."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from pomona.packages.hashing import CHUNK_SIZE, SPLIT_FROM, Ingest, hash_file

DATA = random.Random(7).randbytes(3 * CHUNK_SIZE + 12_345)


def expected_chunks(data: bytes) -> list[str]:
    return [
        hashlib.sha256(data[i : i + CHUNK_SIZE]).hexdigest()
        for i in range(0, len(data), CHUNK_SIZE)
    ]


@pytest.mark.parametrize(
    "sizes",
    [
        [len(DATA)],  # one block, hashed on two threads
        [1] * 100 + [len(DATA)],  # tiny pieces first, on one thread
        [SPLIT_FROM - 1, SPLIT_FROM, SPLIT_FROM + 1, 65_536, CHUNK_SIZE + 3, len(DATA)],
        [CHUNK_SIZE] * 4,  # aligned on the manifest's chunks
    ],
    ids=["whole", "tiny-then-rest", "around-the-split", "aligned"],
)
def test_digests_do_not_depend_on_how_the_bytes_arrive(sizes: list[int]) -> None:
    ingest, position = Ingest(), 0
    for size in sizes:
        ingest.update(DATA[position : position + size])
        position += size
    digests = ingest.finish()
    assert digests.size == len(DATA)
    assert digests.sha256 == hashlib.sha256(DATA).hexdigest()
    assert digests.md5 == hashlib.md5(DATA, usedforsecurity=False).hexdigest()
    assert digests.sha512 == hashlib.sha512(DATA).hexdigest()
    assert digests.chunks == expected_chunks(DATA)


def test_a_copy_goes_on_independently() -> None:
    ingest = Ingest()
    ingest.update(DATA[:SPLIT_FROM])
    twin = ingest.copy()
    ingest.update(DATA[SPLIT_FROM:])
    twin.update(b"something else")
    assert ingest.finish().sha256 == hashlib.sha256(DATA).hexdigest()
    assert twin.finish().sha512 == hashlib.sha512(DATA[:SPLIT_FROM] + b"something else").hexdigest()


def test_hash_file_with_a_limit(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(DATA)
    seen: list[int] = []
    whole = hash_file(path, progress=seen.append).finish()
    assert whole.sha256 == hashlib.sha256(DATA).hexdigest()
    assert seen[-1] == len(DATA)
    head = hash_file(path, limit=CHUNK_SIZE + 1).finish()
    assert head.md5 == hashlib.md5(DATA[: CHUNK_SIZE + 1], usedforsecurity=False).hexdigest()
    assert head.chunks == expected_chunks(DATA[: CHUNK_SIZE + 1])


def test_hash_file_continues_the_hashes_of_its_start(tmp_path: Path) -> None:
    """What a process does when it takes up an upload another process appended to."""
    path = tmp_path / "partial"
    path.write_bytes(DATA)
    start = Ingest()
    start.update(DATA[: CHUNK_SIZE + 5])
    middle = hash_file(path, limit=2 * CHUNK_SIZE + 1, ingest=start)
    assert middle.size == 2 * CHUNK_SIZE + 1
    assert hash_file(path, ingest=middle).finish() == hash_file(path).finish()
    assert hash_file(path, ingest=middle).finish().sha256 == hashlib.sha256(DATA).hexdigest()
