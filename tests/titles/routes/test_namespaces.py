"""Namespaces (publishers) over HTTP: their API, their own Jamf feeds, and tokens kept to them."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI

from pomona.titles.schemas import SoftwareTitleSummary
from pomona.titles.validation import check_definition
from tests.conftest import fixture_text

TITLES = "/api/v1/titles"
NAMESPACES = "/api/v1/namespaces"


def definition(title_id: str, **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(fixture_text("example.json"))
    document.update(id=title_id, **changes)
    return document


async def token(app: FastAPI, name: str, *scopes: str, namespaces: list[str]) -> dict[str, str]:
    tokens = app.state.services.tokens
    _, secret = await tokens.create(name, list(scopes), namespaces=namespaces)
    return {"Authorization": f"Bearer {secret}"}


async def namespace(
    client: httpx.AsyncClient, admin: dict[str, str], slug: str, name: str, **more: Any
) -> dict[str, Any]:
    body = {"slug": slug, "displayName": name, **more}
    response = await client.post(NAMESPACES, json=body, headers=admin)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], title_id: str, into: str | None = None
) -> httpx.Response:
    params = {"namespace": into} if into else {}
    return await client.post(TITLES, json=definition(title_id), params=params, headers=headers)


def check_feed(software: list[dict[str, Any]], patches: dict[str, dict[str, Any]]) -> None:
    """What Jamf Pro needs of a feed: valid summaries, each matching a valid definition."""
    now = datetime.now(UTC)
    for summary in software:
        SoftwareTitleSummary.model_validate(summary, strict=True)
        full = patches[summary["id"]]
        checked = check_definition(full, now=now, strict=True)
        assert checked.warnings == []
        for key in ("id", "name", "publisher", "lastModified", "currentVersion"):
            assert full[key] == summary[key], key


async def read_feed(client: httpx.AsyncClient, base: str) -> list[dict[str, Any]]:
    software = (await client.get(f"{base}/software")).json()
    patches = {s["id"]: (await client.get(f"{base}/patch/{s['id']}")).json() for s in software}
    check_feed(software, patches)
    return list(software)


# -- feeds ----------------------------------------------------------------------------------------


async def test_two_namespaces_serve_separate_valid_feeds_and_the_main_feed_only_its_own(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await namespace(client, admin, "bryson", "Bryson")
    await namespace(client, admin, "mac-admins", "Mac Admins")
    assert (await create(client, admin, "Main")).status_code == 201
    assert (await create(client, admin, "Xcode", "bryson")).status_code == 201
    assert (await create(client, admin, "Slack", "mac-admins")).status_code == 201
    assert (await create(client, admin, "Zoom", "mac-admins")).status_code == 201

    assert [s["id"] for s in await read_feed(client, "/jamf/v1")] == ["Main"]
    assert [s["id"] for s in await read_feed(client, "/jamf/v1/bryson")] == ["Xcode"]
    assert [s["id"] for s in await read_feed(client, "/jamf/v1/mac-admins")] == ["Slack", "Zoom"]
    # The default namespace by its slug is the main feed.
    assert [s["id"] for s in await read_feed(client, "/jamf/v1/default")] == ["Main"]

    # A title is served by its own namespace's feed only.
    assert (await client.get("/jamf/v1/patch/Xcode")).status_code == 404
    assert (await client.get("/jamf/v1/bryson/patch/Slack")).status_code == 404
    chosen = await client.get("/jamf/v1/mac-admins/software/Zoom,Xcode,Main")
    assert [s["id"] for s in chosen.json()] == ["Zoom"]
    # Each feed's /software is what Python's json writes, as the main feed's is.
    zoom = await client.get("/jamf/v1/mac-admins/software")
    assert zoom.content == (json.dumps(zoom.json(), indent=2, sort_keys=True) + "\n").encode()


async def test_a_namespace_feed_base_answers_head_and_get_and_an_unknown_one_404(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await namespace(client, admin, "bryson", "Bryson")

    for path in ("/jamf/v1/bryson", "/jamf/v1/bryson/"):
        head = await client.head(path)
        assert head.status_code == 200, path
        assert head.content == b""
        got = await client.get(path)
        assert got.json() == {"feed": "jamf/v1/bryson", "software": "software"}
    for path in ("/jamf/v1/nobody/", "/jamf/v1/nobody/software", "/jamf/v1/nobody/patch/X"):
        missing = await client.get(path)
        assert missing.status_code == 404, path
        assert (await client.head(path)).status_code == 404, path
    assert (await client.get("/jamf/v1/bryson/software")).content == b"[]\n"


async def test_a_namespace_feed_has_validators_gzip_and_a_preview(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await namespace(client, admin, "bryson", "Bryson")
    await create(client, admin, "Xcode", "bryson")
    disabled = await client.post(f"{TITLES}/Xcode/disable", headers=admin)
    assert disabled.status_code == 200, disabled.text

    assert (await client.get("/jamf/v1/bryson/software")).content == b"[]\n"
    preview = await client.get("/jamf/preview/v1/bryson/software")
    assert [s["id"] for s in preview.json()] == ["Xcode"]
    assert (await client.get("/jamf/preview/v1/bryson/patch/Xcode")).status_code == 200

    await client.post(f"{TITLES}/Xcode/enable", headers=admin)
    first = await client.get("/jamf/v1/bryson/software", headers={"Accept-Encoding": "gzip"})
    assert first.headers["content-encoding"] == "gzip"
    again = await client.get(
        "/jamf/v1/bryson/software", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304


async def test_decoration_shows_ids_and_names_communitypatch_style(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await namespace(client, admin, "bryson", "Bryson Tyrrell", decorateIds=True)
    await create(client, admin, "Xcode", "bryson")

    software = await read_feed(client, "/jamf/v1/bryson")
    assert [(s["id"], s["name"]) for s in software] == [
        ("Xcode_Bryson", "Example (Bryson Tyrrell)")
    ]
    chosen = await client.get("/jamf/v1/bryson/software/Xcode_Bryson,Xcode")
    assert [s["id"] for s in chosen.json()] == ["Xcode_Bryson"]
    assert (await client.get("/jamf/v1/bryson/patch/Xcode")).status_code == 404
    # The API keeps the id as stored.
    assert (await client.get(f"{TITLES}/Xcode", headers=admin)).json()["id"] == "Xcode"

    # Editing the namespace renders its feed again: off, the ids are as stored.
    edited = await client.patch(f"{NAMESPACES}/bryson", json={"decorateIds": False}, headers=admin)
    assert edited.status_code == 200
    assert [s["id"] for s in await read_feed(client, "/jamf/v1/bryson")] == ["Xcode"]
    await client.patch(
        f"{NAMESPACES}/bryson", json={"decorateIds": True, "displayName": "B"}, headers=admin
    )
    assert [s["name"] for s in await read_feed(client, "/jamf/v1/bryson")] == ["Example (B)"]


async def test_the_default_namespace_is_unchanged_on_a_server_without_namespaces(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await create(client, admin, "Firefox")

    assert created.json()["namespace"] == "default"
    listed = (await client.get(NAMESPACES, headers=admin)).json()["items"]
    assert listed == [
        {
            "slug": "default",
            "displayName": "Main feed",
            "decorateIds": False,
            "createdAt": None,
            "titles": 1,
            "feed": "/jamf/v1/",
        }
    ]
    got = await client.get(f"{TITLES}/Firefox", headers=admin)
    assert got.headers["pomona-namespace"] == "default"
    assert (await client.get(TITLES, headers=admin)).json()["items"][0]["namespace"] == "default"


# -- the namespaces API ---------------------------------------------------------------------------


async def test_a_slug_refusal_names_each_wrong_character(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {"slug": "Bry son", "displayName": "x"}
    response = await client.post(NAMESPACES, json=body, headers=admin)

    assert response.status_code == 422
    messages = [e["message"] for e in response.json()["errors"]]
    assert any("U+0042 LATIN CAPITAL LETTER B" in m for m in messages), messages
    assert any("U+0020 SPACE" in m for m in messages), messages
    assert {e["code"] for e in response.json()["errors"]} == {"namespace_slug_invalid"}
    for slug in ("software", "patch", "-x", "default"):
        refused = await client.post(
            NAMESPACES, json={"slug": slug, "displayName": "x"}, headers=admin
        )
        assert refused.status_code in (409, 422), slug


async def test_namespaces_are_created_edited_and_deleted_by_admins_only(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    writer = await token(app, "writer", "titles:write", namespaces=["bryson"])
    created = await namespace(client, admin, "bryson", "Bryson")
    assert created["feed"] == "/jamf/v1/bryson/"
    again = await client.post(
        NAMESPACES, json={"slug": "bryson", "displayName": "B"}, headers=admin
    )
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "namespace_exists"

    body = {"slug": "other", "displayName": "x"}
    assert (await client.post(NAMESPACES, json=body, headers=writer)).status_code == 403
    assert (await client.delete(f"{NAMESPACES}/bryson", headers=writer)).status_code == 403
    assert (await client.get(f"{NAMESPACES}/bryson", headers=writer)).json()["slug"] == "bryson"

    await create(client, admin, "Xcode", "bryson")
    await create(client, admin, "Slack", "bryson")
    refused = await client.delete(f"{NAMESPACES}/bryson", headers=admin)
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["code"] == "namespace_not_empty"
    assert "Slack, Xcode" in refused.json()["errors"][0]["message"]
    default = await client.delete(f"{NAMESPACES}/default", headers=admin)
    assert default.status_code == 409

    for title_id in ("Xcode", "Slack"):
        assert (await client.delete(f"{TITLES}/{title_id}", headers=admin)).status_code == 204
    assert (await client.delete(f"{NAMESPACES}/bryson", headers=admin)).status_code == 204
    assert (await client.get(f"{NAMESPACES}/bryson", headers=admin)).status_code == 404
    assert (await client.get("/jamf/v1/bryson/software")).status_code == 404
    audit = await client.get("/api/v1/audit", params={"action": "namespace.*"}, headers=admin)
    assert {e["action"] for e in audit.json()["items"]} == {"namespace.create", "namespace.delete"}


async def test_titles_list_filters_by_namespace_and_ids_are_unique_across_them(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await namespace(client, admin, "bryson", "Bryson")
    await create(client, admin, "Main")
    await create(client, admin, "Xcode", "bryson")

    listed = await client.get(TITLES, params={"namespace": "bryson"}, headers=admin)
    assert [(t["id"], t["namespace"]) for t in listed.json()["items"]] == [("Xcode", "bryson")]
    taken = await create(client, admin, "Xcode")
    assert taken.status_code == 409
    assert "namespace 'bryson'" in taken.json()["errors"][0]["message"]
    unknown = await create(client, admin, "Other", "nobody")
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["code"] == "namespace_not_found"


# -- tokens kept to namespaces --------------------------------------------------------------------


async def test_a_token_limited_to_one_namespace_cannot_touch_another(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await namespace(client, admin, "bryson", "Bryson")
    await namespace(client, admin, "other", "Other")
    await create(client, admin, "Theirs", "other")
    await create(client, admin, "Main")
    bryson = await token(app, "bryson", "titles:write", namespaces=["bryson"])

    # Without ?namespace= its titles go to its own namespace.
    mine = await create(client, bryson, "Mine")
    assert mine.status_code == 201, mine.text
    assert mine.json()["namespace"] == "bryson"

    version = {**definition("Theirs")["patches"][0], "version": "9.9"}
    attempts = [
        await create(client, bryson, "Elsewhere", "other"),
        await create(client, bryson, "Elsewhere", "default"),
        await client.put(f"{TITLES}/Theirs", json=definition("Theirs"), headers=bryson),
        await client.delete(f"{TITLES}/Theirs", headers=bryson),
        await client.delete(f"{TITLES}/Main", headers=bryson),
        await client.post(f"{TITLES}/Theirs/versions", json=version, headers=bryson),
        await client.post(f"{TITLES}/Theirs/disable", headers=bryson),
        await client.post(f"{TITLES}/Theirs/enable", headers=bryson),  # enabled: no change
        await client.post(f"{TITLES}/Theirs/rollback", params={"revision": 1}, headers=bryson),
    ]
    for response in attempts:
        assert response.status_code == 403, (response.request.url, response.text)
        error = response.json()["errors"][0]
        assert error["code"] == "namespace_forbidden"
        assert error["message"].endswith("it may write only in: bryson"), error
    assert (await client.get("/jamf/v1/other/software")).json()[0]["id"] == "Theirs"
    history = await client.get(f"{TITLES}/Theirs/history", headers=admin)
    assert history.json()["total"] == 1


async def test_restores_go_into_a_namespace_and_backups_keep_it(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await namespace(client, admin, "bryson", "Bryson")
    await create(client, admin, "Xcode", "bryson")
    await create(client, admin, "Main")

    backup = await client.get("/api/v1/backups", headers=admin)
    states = json.loads(zipfile.ZipFile(io.BytesIO(backup.content)).read("pomona/titles.json"))
    assert {k: v["namespace"] for k, v in states.items()} == {"Main": "default", "Xcode": "bryson"}
    only = await client.get("/api/v1/backups", params={"namespace": "bryson"}, headers=admin)
    assert zipfile.ZipFile(io.BytesIO(only.content)).namelist()[0] == "patch_archive/Xcode.json"

    # Restored over itself, each title stays where the backup kept it.
    files = {"file": ("backup.zip", backup.content, "application/zip")}
    restored = await client.post(
        "/api/v1/backups/restore", params={"policy": "replace"}, files=files, headers=admin
    )
    assert restored.status_code == 200, restored.text
    assert [s["id"] for s in (await client.get("/jamf/v1/bryson/software")).json()] == ["Xcode"]

    # Into another namespace, an id held elsewhere is refused, and copies go there.
    moved = await client.post(
        "/api/v1/backups/restore",
        params={"policy": "replace", "namespace": "default"},
        files=files,
        headers=admin,
    )
    assert moved.status_code == 409
    assert moved.json()["errors"][0]["code"] == "title_in_other_namespace"
    copied = await client.post(
        "/api/v1/backups/restore",
        params={"policy": "copy", "namespace": "bryson"},
        files=files,
        headers=admin,
    )
    assert copied.status_code == 200, copied.text
    ids = [s["id"] for s in (await client.get("/jamf/v1/bryson/software")).json()]
    assert ids == ["Main-copy", "Xcode", "Xcode-copy"]

    # A publisher's token restores into its own namespace only.
    bryson = await token(app, "bryson", "titles:write", namespaces=["bryson"])
    refused = await client.post(
        "/api/v1/backups/restore", params={"policy": "replace"}, files=files, headers=bryson
    )
    assert refused.status_code == 409  # Main is in the default namespace, not bryson's
    refused = await client.post(
        "/api/v1/imports",
        params={"namespace": "default"},
        files={"file": ("x.json", json.dumps(definition("New")).encode(), "application/json")},
        headers=bryson,
    )
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "namespace_forbidden"


async def test_a_deleted_title_rolled_back_returns_to_the_publishers_namespace(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await namespace(client, admin, "bryson", "Bryson")
    bryson = await token(app, "bryson", "titles:write", namespaces=["bryson"])
    await create(client, bryson, "Xcode")
    assert (await client.delete(f"{TITLES}/Xcode", headers=bryson)).status_code == 204

    back = await client.post(f"{TITLES}/Xcode/rollback", params={"revision": 1}, headers=bryson)

    assert back.status_code == 200, back.text
    assert back.json()["namespace"] == "bryson"
    assert [s["id"] for s in (await client.get("/jamf/v1/bryson/software")).json()] == ["Xcode"]
    elsewhere = await client.post(
        f"{TITLES}/Xcode/rollback", params={"revision": 1, "namespace": "default"}, headers=bryson
    )
    assert elsewhere.status_code == 403
