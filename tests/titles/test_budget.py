"""The request's budget for parsed documents: its estimate, its floor, its count, and every
reader of definitions spending from it before parsing (archives, JSON bodies, folders)."""

from __future__ import annotations

import io
import struct
import tracemalloc
from pathlib import Path

import orjson
import pytest

from pomona.errors import BadRequest, TooLarge
from pomona.settings import Settings
from pomona.titles import archive as archive_module
from pomona.titles.budget import VALUE_BYTES, Budget, values_in
from pomona.titles.sources import from_directory, from_remote, read_body, read_file
from tests.titles.archives import cost, definition, dense, hostile, zipped

SETTINGS = Settings()


def small(max_cost: int = 1024 * 1024, floor: int = 1024, documents: int = 100) -> Budget:
    return Budget(max_cost, floor, documents)


@pytest.mark.parametrize(
    "document",
    [
        dense(20_000),
        b"[" + b"{},".join(b"" for _ in range(0)) + b",".join([b"{}"] * 20_000) + b"]",
        b"[" + b",".join([b'{"a":[1,2.5,"x"]}'] * 5_000) + b"]",
        b"[" + b",".join([b'{"a":{"b":{}}}'] * 5_000) + b"]",
        orjson.dumps(definition("Big", 200)),
    ],
    ids=["mixed", "objects", "floats", "nested", "definition"],
)
def test_the_estimate_is_never_below_what_parsing_costs(document: bytes) -> None:
    tracemalloc.start()
    try:
        parsed = orjson.loads(document)
        real, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del parsed
    assert cost(document) >= real
    assert cost(document) < 5 * real  # and not so far above that real archives are refused


def test_values_are_counted_from_the_bytes() -> None:
    assert values_in(b"{}") == 2  # over-counts by design: the object and its opening
    assert values_in(b'{"a": [1, 2]}') == 5  # the object, its key, the list, 1 and 2
    assert values_in(b'"a,b:c"') == 3  # inside strings too: only ever more


def test_a_tiny_document_costs_the_floor_and_the_count_is_limited() -> None:
    budget = small(floor=1000, documents=2)
    budget.spend("/a", b"{}")
    assert budget.spent == 1000
    budget.count("/a", 2)
    with pytest.raises(TooLarge) as refused:
        budget.count("/b", 1)
    assert refused.value.code == "import_too_many_documents"
    assert refused.value.problems[0].path == "/b"


def test_spending_past_the_budget_is_refused_before_parsing_and_located() -> None:
    budget = small(max_cost=100_000, floor=0)
    budget.spend("/first.json", b"[1]")
    with pytest.raises(TooLarge) as refused:
        budget.spend("/second.json", dense(2_000))
    assert refused.value.code == "import_too_large"
    assert refused.value.problems[0].path == "/second.json"
    assert "import_max_parsed_bytes" in refused.value.problems[0].message
    assert budget.spent == len(b"[1]") + 2 * VALUE_BYTES  # the refused one is not counted


def test_thousands_of_tiny_members_are_refused_before_any_is_read() -> None:
    members = {f"m{i}.json": b"[]" for i in range(3000)}
    budget = small(max_cost=10 * 1024 * 1024, floor=16 * 1024, documents=10_000)
    with pytest.raises(TooLarge) as refused:
        read_body(io.BytesIO(zipped(members)), SETTINGS, budget)
    assert refused.value.code == "import_too_large"
    assert refused.value.problems[0].path == ""
    assert budget.documents == 0  # refused from the sizes alone, nothing decompressed


def test_a_dense_archive_stops_at_the_member_that_passes_the_budget() -> None:
    limit = 8 * 1024 * 1024
    members = hostile(limit)
    members["last.json"] = dense(12_000, 99)
    budget = small(max_cost=limit, floor=0, documents=10_000)
    with pytest.raises(TooLarge) as refused:
        read_body(io.BytesIO(zipped(members)), SETTINGS, budget)
    assert refused.value.problems[0].path == "/last.json"
    assert budget.documents == len(members)


def test_small_members_are_checked_for_their_compression_ratio() -> None:
    # 60 KiB of one repeated value: under the old 64 KiB exemption, now a bomb like any other.
    members = {"small-bomb.json": b"[" + b"[]," * 20_000 + b"[]]"}
    with pytest.raises(BadRequest) as refused:
        read_body(io.BytesIO(zipped(members)), SETTINGS, Budget.of(SETTINGS))
    assert refused.value.code == "archive_ratio_too_high"


def test_one_budget_spans_every_file_of_a_request() -> None:
    settings = Settings(import_max_parsed_bytes=1024 * 1024, import_document_floor_bytes=0)
    budget = Budget.of(settings)
    content = dense(2_200)
    read_file("a.json", io.BytesIO(content), settings, budget)
    read_file("b.json", io.BytesIO(content), settings, budget)
    with pytest.raises(TooLarge) as refused:
        read_file("c.json", io.BytesIO(zipped({"x.json": content})), settings, budget)
    assert refused.value.problems[0].path == "/x.json"


def test_a_json_array_counts_each_of_its_documents() -> None:
    settings = Settings(archive_max_members=3)
    with pytest.raises(TooLarge) as refused:
        read_body(io.BytesIO(b"[{}, {}, {}, {}]"), settings, Budget.of(settings))
    assert refused.value.code == "import_too_many_documents"


def test_a_folder_import_spends_one_budget(tmp_path: Path) -> None:
    settings = Settings(import_max_parsed_bytes=1024 * 1024, import_document_floor_bytes=0)
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.json").write_bytes(dense(2_200))
    with pytest.raises(TooLarge) as refused:
        from_directory(tmp_path, settings)
    assert refused.value.problems[0].path == "/c.json"


def test_a_central_directory_too_large_for_the_member_limit_is_refused_unread() -> None:
    settings = Settings(archive_max_members=2)
    data = bytearray(zipped({"a.json": b"{}"}))
    end = data.rindex(b"PK\x05\x06")
    # Declare a directory of 10 MB: zipfile would read it all into memory first.
    struct.pack_into("<L", data, end + 12, 10_000_000)
    with pytest.raises(TooLarge) as refused:
        read_body(io.BytesIO(bytes(data)), settings, Budget.of(settings))
    assert refused.value.code == "archive_too_many_files"
    assert archive_module._DIRECTORY_BYTES_PER_MEMBER * 2 < 10_000_000


def test_the_defaults_admit_every_real_definition_and_a_large_backup(corpus: list[Path]) -> None:
    members = {f"patch_archive/{p.name}": p.read_bytes() for p in corpus}
    members |= {
        f"patch_archive/App{i:04d}.json": orjson.dumps(definition(f"App{i:04d}", 1 + i % 8))
        for i in range(2000)
    }
    members["patch_archive/Big.json"] = orjson.dumps(definition("Big", 200))
    found = read_body(io.BytesIO(zipped(members)), SETTINGS, budget := Budget.of(SETTINGS))
    assert len(found.items) == len(members)
    assert budget.spent < SETTINGS.import_max_parsed_bytes / 2  # comfortably


async def test_a_remote_import_spends_one_budget_across_its_fetches() -> None:
    settings = Settings(import_max_parsed_bytes=1024 * 1024, import_document_floor_bytes=0)
    pages = {
        "https://patch.example/software": orjson.dumps([{"id": i} for i in ("A", "B", "C")]),
        **{f"https://patch.example/patch/{i}": dense(2_200, n) for n, i in enumerate("ABC")},
    }

    async def fetcher(url: str, _policy: object) -> bytes:
        return pages[url]

    with pytest.raises(TooLarge) as refused:
        await from_remote("https://patch.example", None, settings, fetcher=fetcher)
    assert refused.value.code == "import_too_large"
    assert refused.value.problems[0].path == "/C"
