"""Definitions from uploaded bytes and from a folder, without HTTP: zips, JSON, arrays."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import orjson
import pytest

from pomona.errors import BadRequest, TooLarge
from pomona.settings import Settings
from pomona.titles.budget import Budget
from pomona.titles.sources import from_directory, read_body, read_file

SETTINGS = Settings()


def budget() -> Budget:
    return Budget.of(SETTINGS)


def zipped(**members: bytes) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer


def test_a_json_array_body_is_located_from_the_body_root() -> None:
    body = io.BytesIO(orjson.dumps([{"id": "A"}, {"id": "B"}]))

    found = read_body(body, SETTINGS, budget())

    assert [(i.source, i.document) for i in found.items] == [
        ("/0", {"id": "A"}),
        ("/1", {"id": "B"}),
    ]


def test_a_body_that_is_not_json_cannot_be_read() -> None:
    with pytest.raises(BadRequest) as refused:
        read_body(io.BytesIO(b"{nope"), SETTINGS, budget())
    assert refused.value.code == "not_json"


def test_an_empty_body_is_refused() -> None:
    with pytest.raises(BadRequest) as refused:
        read_body(io.BytesIO(b"  \n"), SETTINGS, budget())
    assert refused.value.code == "upload_empty"


def test_a_zip_body_is_read_as_an_archive_whatever_its_declared_type() -> None:
    archive = zipped(**{"patch_archive/A.json": b'{"id": "A"}', "README": b"hi"})
    found = read_body(archive, SETTINGS, budget())

    assert [i.source for i in found.items] == ["/patch_archive/A.json"]
    assert found.ignored == ["README"]


def test_an_uploaded_file_over_the_document_limit_is_refused() -> None:
    settings = Settings(max_document_bytes=1024)
    big = io.BytesIO(b'{"id": "' + b"x" * 2000 + b'"}')
    with pytest.raises(TooLarge) as refused:
        read_file("big.json", big, settings, Budget.of(settings))
    assert refused.value.code == "definition_too_large"
    assert refused.value.problems[0].path == "/big.json"


def test_a_folder_gives_its_json_and_zip_files_and_ignores_the_rest(tmp_path: Path) -> None:
    (tmp_path / "A.json").write_bytes(b'{"id": "A"}')
    (tmp_path / "more.zip").write_bytes(zipped(**{"B.json": b'{"id": "B"}'}).getvalue())
    (tmp_path / "notes.txt").write_text("hello")

    found = from_directory(tmp_path, SETTINGS)

    assert sorted(i.document["id"] for i in found.items) == ["A", "B"]
    assert found.ignored == ["notes.txt"]
