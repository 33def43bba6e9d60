"""One contract, every storage backend: local directory and S3 (moto's server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pomona.packages.storage import Storage
from tests.packages.conftest import payload


def test_put_file_moves_and_reads_back(storage: Storage, tmp_path: Path) -> None:
    data = payload(3 * 1024 * 1024 + 17)
    source = tmp_path / "incoming.part"
    source.write_bytes(data)
    storage.put_file("blobs/ab/abc", source)
    assert not source.exists()  # moved (or uploaded and removed), never left behind
    assert b"".join(storage.open_range("blobs/ab/abc")) == data
    info = storage.stat("blobs/ab/abc")
    assert info is not None
    assert info.size == len(data)
    assert info.key == "blobs/ab/abc"


def test_range_reads(storage: Storage) -> None:
    data = payload(1_000_000, seed=1)
    storage.put_stream("k/one", [data[:100], data[100:]])
    assert b"".join(storage.open_range("k/one", 10, 20)) == data[10:20]
    assert b"".join(storage.open_range("k/one", 999_990)) == data[999_990:]
    assert b"".join(storage.open_range("k/one", 5, 5)) == b""


def test_stat_delete_list(storage: Storage) -> None:
    assert storage.stat("nope/x") is None
    storage.put_stream("blobs/a", [b"1"])
    storage.put_stream("blobs/b", [b"22"])
    storage.put_stream("other/c", [b"333"])
    assert sorted((i.key, i.size) for i in storage.list("blobs/")) == [
        ("blobs/a", 1),
        ("blobs/b", 2),
    ]
    assert len(list(storage.list())) == 3
    storage.delete("blobs/a")
    storage.delete("blobs/a")  # deleting what is gone is no error
    assert storage.stat("blobs/a") is None
    assert [i.key for i in storage.list("blobs/")] == ["blobs/b"]


def test_overwrite_is_whole(storage: Storage, tmp_path: Path) -> None:
    storage.put_stream("k", [b"old content"])
    source = tmp_path / "new"
    source.write_bytes(b"new")
    storage.put_file("k", source)
    assert b"".join(storage.open_range("k")) == b"new"


def test_failed_stream_leaves_nothing(storage: Storage) -> None:
    def broken() -> object:
        yield b"x" * 1000
        raise RuntimeError("connection lost")

    with pytest.raises(RuntimeError):
        storage.put_stream("half", broken())  # type: ignore[arg-type]
    assert storage.stat("half") is None
    assert [i.key for i in storage.list()] == []


@pytest.mark.parametrize("key", ["", "../x", "a/../../x", "/abs", "a//b", "a\\b"])
def test_bad_keys_refused(storage: Storage, key: str) -> None:
    with pytest.raises(ValueError, match="invalid storage key"):
        storage.stat(key)
