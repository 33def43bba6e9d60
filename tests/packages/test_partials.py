"""Partial files: what arrives is appended and hashed, and kept even when refused midway."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pomona.errors import TooLarge
from pomona.packages.hashing import Ingest
from pomona.packages.partials import WRITE_BLOCK, HashStates, Partial
from tests.packages.conftest import payload


async def body(data: bytes, piece: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), piece):
        yield data[start : start + piece]


async def test_receive_appends_and_hashes_in_one_pass(tmp_path: Path) -> None:
    data = payload(2 * WRITE_BLOCK + 1000, seed=70)
    partial = Partial(tmp_path / "p.part", Ingest())
    partial.path.write_bytes(b"")
    check = hashlib.sha1(usedforsecurity=False)
    assert await partial.receive(body(data, 65_536), len(data), check) == len(data)
    assert partial.path.read_bytes() == data
    assert partial.ingest.finish().sha256 == hashlib.sha256(data).hexdigest()
    assert check.digest() == hashlib.sha1(data, usedforsecurity=False).digest()


async def test_too_long_is_refused_and_what_came_is_kept(tmp_path: Path) -> None:
    data = payload(WRITE_BLOCK + 10, seed=71)
    partial = Partial(tmp_path / "p.part", Ingest())
    partial.path.write_bytes(b"")
    with pytest.raises(TooLarge) as refused:
        await partial.receive(body(data, 1000), len(data) - 1)
    assert refused.value.code == "body_too_long"
    # The file holds exactly the bytes hashed, so a resumed upload can trust both.
    kept = partial.path.read_bytes()
    assert partial.ingest.size == len(kept)
    assert partial.ingest.finish().sha256 == hashlib.sha256(kept).hexdigest()


def test_hash_states_are_taken_out_and_the_oldest_dropped() -> None:
    states = HashStates(size=2)
    for name in ("a", "b", "c"):
        states.keep(name, Ingest())
    assert states.take("a") is None  # dropped: the oldest beyond the size
    assert states.take("b") is not None
    assert states.take("b") is None  # taken out: no two requests share one
    assert states.take("c") is not None
