"""Backups, restore (policies, dry run, atomicity), bulk import, and hostile archives."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pomona.settings import Settings
from tests.conftest import fixture_text

EXAMPLE: dict[str, Any] = json.loads(fixture_text("example.json"))


def definition(title_id: str, **changes: Any) -> dict[str, Any]:
    return {**EXAMPLE, "id": title_id, **changes}


def zipped(members: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def patchserver_backup(*documents: dict[str, Any]) -> bytes:
    # PatchServer wrote json.dump(title.serialize) without indentation.
    return zipped({f"patch_archive/{d['id']}.json": json.dumps(d).encode() for d in documents})


async def restore(
    client: httpx.AsyncClient, admin: dict[str, str], data: bytes, **params: Any
) -> httpx.Response:
    return await client.post(
        "/api/v1/backups/restore",
        content=data,
        params=params,
        headers={**admin, "Content-Type": "application/zip"},
    )


async def ids(client: httpx.AsyncClient) -> list[str]:
    return [s["id"] for s in (await client.get("/jamf/v1/software")).json()]


async def test_patchserver_backup_restores_into_a_populated_server_after_a_dry_run(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await client.post("/api/v1/titles", json=definition("Example"), headers=admin)
    archive = patchserver_backup(definition("Example", name="From backup"), definition("Other"))
    dry = await restore(client, admin, archive, policy="replace", dryRun="true")
    assert dry.status_code == 200, dry.text
    assert (dry.json()["created"], dry.json()["replaced"], dry.json()["dryRun"]) == (1, 1, True)
    assert await ids(client) == ["Example"]  # nothing written
    done = await restore(client, admin, archive, policy="replace")
    assert done.status_code == 200, done.text
    assert {i["id"]: i["result"] for i in done.json()["items"]} == {
        "Example": "replace",
        "Other": "create",
    }
    assert await ids(client) == ["Example", "Other"]
    assert (await client.get("/jamf/v1/patch/Example")).json()["name"] == "From backup"
    history = (await client.get("/api/v1/titles/Example/history", headers=admin)).json()
    assert [r["action"] for r in history["items"]] == ["restore", "create"]


async def test_policies_skip_and_copy(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    await client.post("/api/v1/titles", json=definition("Example"), headers=admin)
    archive = patchserver_backup(definition("Example", name="Archived"))
    skipped = (await restore(client, admin, archive)).json()
    assert skipped["skipped"] == 1
    assert (await client.get("/jamf/v1/patch/Example")).json()["name"] == "Example"
    copied = (await restore(client, admin, archive, policy="copy")).json()
    assert copied["items"][0]["id"] == "Example-copy"
    assert await ids(client) == ["Example", "Example-copy"]
    again = (await restore(client, admin, archive, policy="copy")).json()
    assert again["items"][0]["id"] == "Example-copy-2"


async def test_one_invalid_document_writes_nothing_and_every_problem_is_listed(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    broken = definition("Broken", patches=[])
    other = definition("Other2", publisher=None)
    answer = await restore(client, admin, patchserver_backup(definition("Fine"), broken, other))
    assert answer.status_code == 422, answer.text
    paths = {e["path"] for e in answer.json()["errors"]}
    assert "/patch_archive/Broken.json/patches" in paths
    assert "/patch_archive/Other2.json/publisher" in paths
    assert await ids(client) == []


async def test_a_restore_of_many_titles_numbers_every_revision_and_audits_each(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Titles are written in batches (FLUSH_EVERY): across batches, every title gets the next
    number of its own history, its audit record and, when new, its database id."""
    for title_id in ("T00", "T03", "T07", "T11"):
        await client.post("/api/v1/titles", json=definition(title_id), headers=admin)
    await client.delete("/api/v1/titles/T07", headers=admin)  # numbering goes on after a delete
    archive = patchserver_backup(*(definition(f"T{i:02d}") for i in range(13)))

    answer = await restore(client, admin, archive, policy="replace")

    assert answer.status_code == 200, answer.text
    revisions = {o["id"]: o["revision"] for o in answer.json()["items"]}
    expected = {f"T{i:02d}": 1 for i in range(13)} | {"T00": 2, "T03": 2, "T07": 3, "T11": 2}
    assert revisions == expected
    assert await ids(client) == sorted(expected)
    for title_id, revision in expected.items():
        history = (await client.get(f"/api/v1/titles/{title_id}/history", headers=admin)).json()
        assert history["items"][0]["number"] == revision
    audit = await client.get(
        "/api/v1/audit", params={"action": "title.restore", "perPage": 100}, headers=admin
    )
    assert sorted(e["target"] for e in audit.json()["items"]) == [f"title:{i}" for i in expected]


async def test_backup_round_trip_keeps_state_and_history(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    app: FastAPI,
    settings: Settings,
    tmp_path: Path,
) -> None:
    await client.post("/api/v1/titles", json=definition("Example"), headers=admin)
    await client.post("/api/v1/titles/Example/versions/2.1.0/disable", headers=admin)
    backup = await client.get("/api/v1/backups", params={"history": "true"}, headers=admin)
    assert backup.status_code == 200
    assert backup.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(backup.content)).namelist()
    assert {
        "patch_archive/Example.json",
        "pomona/titles.json",
        "pomona/history/Example.json",
    } <= set(names)
    plain = await client.get("/api/v1/backup", headers=admin)  # PatchServer's path and layout
    assert zipfile.ZipFile(io.BytesIO(plain.content)).namelist()[0] == "patch_archive/Example.json"

    other = settings.model_copy(
        update={
            "data_dir": tmp_path / "other",
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'other.db'}",
        }
    )
    from pomona.app import create_app
    from tests.conftest import make_token

    second = create_app(other)
    async with second.router.lifespan_context(second):
        token = await make_token(second, "admin", "admin")
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://second.test") as http:
            assert (await restore(http, token, backup.content)).status_code == 200
            history = (await http.get("/api/v1/titles/Example/history", headers=token)).json()
            assert [r["action"] for r in history["items"]] == [
                "restore",
                "disable-version",
                "create",
            ]
            patch = (await http.get("/jamf/v1/patch/Example")).json()
            assert patch["currentVersion"] == "2.0.1"  # still disabled


@pytest.mark.parametrize(
    ("members", "symlink", "message", "status"),
    [
        ({"../evil.json": b"{}"}, None, "unsafe path", 400),
        ({"/abs.json": b"{}"}, None, "unsafe path", 400),
        ({"patch_archive/..\\evil.json": b"{}"}, None, "unsafe path", 400),
        ({}, "patch_archive/link.json", "symbolic link", 400),
        ({f"f{i}.json": b"{}" for i in range(30)}, None, "archive_max_members", 413),
        ({"bomb.json": b" " * 5_000_000}, None, "zip bomb", 400),
        ({"small-bomb.json": b" " * 60_000}, None, "zip bomb", 400),
    ],
)
async def test_hostile_archives_are_refused(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    members: dict[str, bytes],
    symlink: str | None,
    message: str,
    status: int,
) -> None:
    app.state.settings.archive_max_members = 20  # a small limit keeps the test quick
    answer = await restore(client, admin, zipped(members, symlink=symlink))
    assert answer.status_code == status, answer.text
    assert message in answer.text
    assert await ids(client) == []


async def test_lying_sizes_and_oversized_uploads_are_refused(
    client: httpx.AsyncClient, admin: dict[str, str], settings: Settings
) -> None:
    data = bytearray(zipped({"a.json": json.dumps(definition("A")).encode()}))
    # Shrink the declared size in the local and central headers: the real data is longer.
    real = len(json.dumps(definition("A")))
    for marker, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(marker)
        data[at + offset : at + offset + 4] = (10).to_bytes(4, "little")
    answer = await restore(client, admin, bytes(data))
    assert real > 10
    assert answer.status_code == 400, answer.text
    # zipfile stops at the declared size, so the rest is never inflated; the CRC then fails.
    assert "a.json" in answer.text
    not_zip = await restore(client, admin, b"PK\x03\x04 not really a zip")
    assert not_zip.status_code == 400
    too_big = await client.post(
        "/api/v1/imports",
        content=b"x" * (settings.archive_max_bytes + 1),
        headers={**admin, "Content-Type": "application/zip"},
    )
    assert too_big.status_code == 413


async def test_bulk_import_of_many_files_in_one_form(
    client: httpx.AsyncClient, admin: dict[str, str], corpus: list[Path]
) -> None:
    files = [("file", (p.name, p.read_bytes(), "application/json")) for p in corpus]
    files.append(
        ("file", ("more.zip", patchserver_backup(definition("Zipped")), "application/zip"))
    )
    answer = await client.post("/api/v1/imports", files=files, headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["created"] == len(corpus) + 1
    assert "Zipped" in await ids(client)
    array = await client.post(
        "/api/v1/imports", json=[definition("A1"), definition("A2")], headers=admin
    )
    assert array.json()["created"] == 2, array.text


async def test_a_restore_past_the_memory_budget_is_refused_located_and_writes_nothing(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    from tests.titles.archives import dense

    app.state.settings.import_max_parsed_bytes = 2 * 1024 * 1024
    members = {"patch_archive/Good.json": json.dumps(definition("Good")).encode()}
    members |= {f"dense/{i}.json": dense(6_000, i) for i in range(8)}
    answer = await restore(client, admin, zipped(members))
    assert answer.status_code == 413, answer.text
    [problem] = answer.json()["errors"]
    assert problem["code"] == "import_too_large"
    assert problem["path"].startswith("/dense/")
    assert await ids(client) == []
    # The same through a form of files: one budget for the whole request.
    files = [("file", (f"{i}.json", dense(6_000, i), "application/json")) for i in range(8)]
    form = await client.post("/api/v1/imports", files=files, headers=admin)
    assert form.status_code == 413, form.text
    assert form.json()["errors"][0]["code"] == "import_too_large"


async def test_a_json_array_of_more_documents_than_allowed_is_refused(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    app.state.settings.archive_max_members = 100
    answer = await client.post(
        "/api/v1/imports",
        content=b"[" + b"[]," * 150 + b"[]]",
        headers={**admin, "Content-Type": "application/json"},
    )
    assert answer.status_code == 413, answer.text
    assert answer.json()["errors"] == [
        {
            "path": "/body",
            "message": "more than 100 documents in one request (archive_max_members); split it",
            "location": "body",
            "code": "import_too_many_documents",
        }
    ]
