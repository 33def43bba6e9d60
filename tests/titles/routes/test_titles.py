"""The titles API on whole titles: create, read, replace, delete, list and search."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from pomona.titles.models import TitleRevision
from tests.conftest import fixture_text, make_token

TITLES = "/api/v1/titles"


def definition(title_id: str = "Example", **changes: Any) -> dict[str, Any]:
    """The example definition under another id, with top-level keys changed."""
    document: dict[str, Any] = json.loads(fixture_text("example.json"))
    document.update(id=title_id, **changes)
    return document


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], document: dict[str, Any]
) -> httpx.Response:
    response = await client.post(TITLES, json=document, headers=headers)
    assert response.status_code == 201, response.text
    return response


async def revisions(app: FastAPI, title_id: str) -> list[TitleRevision]:
    async with app.state.services.db.sessions() as session:
        rows = await session.scalars(
            select(TitleRevision)
            .where(TitleRevision.title_id == title_id)
            .order_by(TitleRevision.number)
        )
        return list(rows)


# -- create ---------------------------------------------------------------------------------------


async def test_create_answers_201_with_the_stored_definition(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.post(TITLES, content=fixture_text("example.json"), headers=admin)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] == "Example"
    assert body["revision"] == 1
    assert body["warnings"] == []
    assert body["definition"]["currentVersion"] == "2.1.0"
    # The server owns lastModified: the fixture's 2024 date is replaced by the time of the write.
    assert body["definition"]["lastModified"] != "2024-05-01T12:00:00Z"


async def test_create_returns_the_warnings_of_what_it_normalised(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    document = definition(currentVersion="9.9", comment="not Jamf")
    document["patches"][0]["reboot"] = "false"

    response = await client.post(TITLES, json=document, headers=admin)

    assert response.status_code == 201, response.text
    warnings = {w["path"]: w["message"] for w in response.json()["warnings"]}
    assert set(warnings) == {"/comment", "/currentVersion", "/patches/0/reboot"}
    assert "removed" in warnings["/comment"]
    assert response.json()["definition"]["patches"][0]["reboot"] is False


async def test_create_in_strict_mode_refuses_what_needs_normalising(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.post(
        TITLES, params={"strict": "true"}, json=definition(comment="x"), headers=admin
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "/comment"
    assert (await client.get(f"{TITLES}/Example", headers=admin)).status_code == 404


async def test_create_of_an_existing_id_is_409_and_says_to_use_put(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(client, admin, definition())

    response = await client.post(TITLES, json=definition(name="Other"), headers=admin)

    assert response.status_code == 409
    [error] = response.json()["errors"]
    assert error["path"] == "/id"
    assert error["code"] == "title_exists"
    assert "/api/" not in error["message"]
    stored = (await client.get(f"{TITLES}/Example", headers=admin)).json()
    assert stored["name"] == "Example"


async def test_ids_are_case_sensitive(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    await create(client, admin, definition("Firefox"))
    await create(client, admin, definition("firefox"))

    listed = (await client.get(TITLES, headers=admin)).json()
    assert [t["id"] for t in listed["items"]] == ["Firefox", "firefox"]


@pytest.mark.parametrize(
    ("body", "status"),
    [("", 400), ("{not json", 400), ("[]", 422), ('{"id": "x"}', 422)],
)
async def test_create_with_a_bad_body_is_a_client_error(
    client: httpx.AsyncClient, admin: dict[str, str], body: str, status: int
) -> None:
    response = await client.post(
        TITLES, content=body, headers={**admin, "Content-Type": "application/json"}
    )

    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["message"]


# -- get ------------------------------------------------------------------------------------------


async def test_get_answers_the_definition_with_its_revision_as_etag(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = (await create(client, admin, definition())).json()

    response = await client.get(f"{TITLES}/Example", headers=admin)

    assert response.status_code == 200
    assert response.headers["etag"] == '"r1"'
    assert response.json() == created["definition"]


async def test_get_of_an_unknown_title_is_404(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.get(f"{TITLES}/Nothing", headers=admin)

    assert response.status_code == 404
    assert "Nothing" in response.json()["errors"][0]["message"]


# -- replace --------------------------------------------------------------------------------------


async def test_replace_stores_the_new_definition_and_bumps_the_revision(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(client, admin, definition())

    response = await client.put(f"{TITLES}/Example", json=definition(name="Renamed"), headers=admin)

    assert response.status_code == 200, response.text
    assert response.json()["revision"] == 2
    got = await client.get(f"{TITLES}/Example", headers=admin)
    assert got.headers["etag"] == '"r2"'
    assert got.json()["name"] == "Renamed"


async def test_replace_with_another_id_in_the_body_is_422(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(client, admin, definition())

    response = await client.put(f"{TITLES}/Example", json=definition("Other"), headers=admin)

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["path"] == "/id"
    assert "Other" in error["message"]
    assert (await client.get(f"{TITLES}/Other", headers=admin)).status_code == 404


async def test_replace_of_an_unknown_title_is_404_title_not_found(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.put(f"{TITLES}/Example", json=definition(), headers=admin)

    assert response.status_code == 404
    [error] = response.json()["errors"]
    assert error["code"] == "title_not_found"
    assert "/api/" not in error["message"]


async def test_replace_with_a_current_if_match_succeeds(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(client, admin, definition())

    response = await client.put(
        f"{TITLES}/Example",
        json=definition(name="Renamed"),
        headers={**admin, "If-Match": '"r1"'},
    )

    assert response.status_code == 200, response.text


async def test_replace_with_a_stale_if_match_is_412_and_changes_nothing(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(client, admin, definition())
    await client.put(f"{TITLES}/Example", json=definition(name="Second"), headers=admin)

    response = await client.put(
        f"{TITLES}/Example",
        json=definition(name="Third"),
        headers={**admin, "If-Match": '"r1"'},
    )

    assert response.status_code == 412
    assert "revision 2" in response.json()["errors"][0]["message"]
    assert (await client.get(f"{TITLES}/Example", headers=admin)).json()["name"] == "Second"


async def test_if_match_star_means_any_revision(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(client, admin, definition())

    response = await client.put(
        f"{TITLES}/Example", json=definition(), headers={**admin, "If-Match": "*"}
    )

    assert response.status_code == 200, response.text


async def test_a_malformed_if_match_is_412_naming_the_expected_form(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(client, admin, definition())

    response = await client.put(
        f"{TITLES}/Example", json=definition(), headers={**admin, "If-Match": "yesterday"}
    )

    assert response.status_code == 412
    assert '"r3"' in response.json()["errors"][0]["message"]


# -- delete ---------------------------------------------------------------------------------------


async def test_delete_removes_the_title_from_api_and_feed(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(client, admin, definition())
    await create(client, admin, definition("Other"))
    assert (await client.get("/jamf/v1/patch/Example")).status_code == 200

    response = await client.delete(f"{TITLES}/Example", headers=admin)

    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"{TITLES}/Example", headers=admin)).status_code == 404
    assert (await client.get("/jamf/v1/patch/Example")).status_code == 404
    software = (await client.get("/jamf/v1/software")).json()
    assert [s["id"] for s in software] == ["Other"]


async def test_delete_keeps_the_history_with_a_tombstone(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(client, admin, definition())
    await client.put(f"{TITLES}/Example", json=definition(name="Renamed"), headers=admin)

    await client.delete(f"{TITLES}/Example", params={"reason": "retired"}, headers=admin)

    history = await revisions(app, "Example")
    assert [(r.number, r.action) for r in history] == [
        (1, "create"),
        (2, "replace"),
        (3, "delete"),
    ]
    assert history[0].document is not None
    assert json.loads(history[1].document or "")["name"] == "Renamed"
    tombstone = history[2]
    assert tombstone.document is None
    assert tombstone.reason == "retired"
    assert tombstone.actor == "token:admin"


async def test_a_recreated_title_continues_its_history_and_old_etags_do_not_match(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(client, admin, definition())
    await client.delete(f"{TITLES}/Example", headers=admin)

    recreated = await create(client, admin, definition())

    assert [r.number for r in await revisions(app, "Example")] == [1, 2, 3]
    assert recreated.json()["revision"] == 3
    # An If-Match taken before the delete must not apply to the new title.
    stale = await client.put(
        f"{TITLES}/Example", json=definition(), headers={**admin, "If-Match": '"r1"'}
    )
    assert stale.status_code == 412


async def test_delete_with_a_stale_if_match_is_412(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(client, admin, definition())
    await client.put(f"{TITLES}/Example", json=definition(), headers=admin)

    response = await client.delete(f"{TITLES}/Example", headers={**admin, "If-Match": '"r1"'})

    assert response.status_code == 412
    assert (await client.get(f"{TITLES}/Example", headers=admin)).status_code == 200


async def test_delete_of_an_unknown_title_is_404(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.delete(f"{TITLES}/Nothing", headers=admin)

    assert response.status_code == 404


# -- list and search -------------------------------------------------------------------------------


async def test_list_is_ordered_by_id_with_the_summary_of_each(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(client, admin, definition("Zed"))
    await create(client, admin, definition("Alpha"))

    response = await client.get(TITLES, headers=admin)

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 2
    assert body["page"] == 1
    assert [t["id"] for t in body["items"]] == ["Alpha", "Zed"]
    first = body["items"][0]
    assert first["currentVersion"] == "2.1.0"
    assert first["publisher"] == "Example Corp"
    assert first["revision"] == 1
    assert first["lastModified"].endswith("Z")


async def test_list_of_nothing_is_empty(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    body = (await client.get(TITLES, headers=admin)).json()

    assert body == {"items": [], "total": 0, "page": 1, "perPage": 50}


async def test_list_paginates_with_page_and_per_page(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for index in range(5):
        await create(client, admin, definition(f"T{index}"))

    pages = [
        (await client.get(TITLES, params={"page": p, "perPage": 2}, headers=admin)).json()
        for p in (1, 2, 3, 4)
    ]

    assert [[t["id"] for t in page["items"]] for page in pages] == [
        ["T0", "T1"],
        ["T2", "T3"],
        ["T4"],
        [],
    ]
    assert {page["total"] for page in pages} == {5}
    assert [page["perPage"] for page in pages] == [2, 2, 2, 2]


async def test_per_page_is_capped_by_the_setting(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.get(TITLES, params={"perPage": 10_000}, headers=admin)

    assert response.json()["perPage"] == app.state.settings.page_size_max


@pytest.mark.parametrize("params", [{"page": "0"}, {"perPage": "0"}, {"page": "x"}])
async def test_bad_pagination_is_422_located_in_the_query(
    client: httpx.AsyncClient, admin: dict[str, str], params: dict[str, str]
) -> None:
    response = await client.get(TITLES, params=params, headers=admin)

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["location"] == "query"
    assert error["path"] == "/" + next(iter(params))


async def test_search_matches_id_name_and_publisher_case_insensitively(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(client, admin, definition("GoogleChrome", name="Chrome", publisher="Google"))
    await create(client, admin, definition("Firefox", name="Firefox", publisher="Mozilla"))
    await create(client, admin, definition("Zoom", name="Zoom", publisher="Zoom Video"))

    async def ids(q: str) -> list[str]:
        found = (await client.get(TITLES, params={"q": q}, headers=admin)).json()
        assert found["total"] == len(found["items"])
        return [t["id"] for t in found["items"]]

    assert await ids("googlechrome") == ["GoogleChrome"]
    assert await ids("FIREFOX") == ["Firefox"]
    assert await ids("mozill") == ["Firefox"]
    assert await ids("zoom video") == ["Zoom"]
    assert await ids("o") == ["Firefox", "GoogleChrome", "Zoom"]
    assert await ids("nothing") == []


async def test_search_treats_like_wildcards_literally(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(client, admin, definition("A_B", name="Under score", publisher="P"))
    await create(client, admin, definition("AxB", name="Plain", publisher="P"))
    await create(client, admin, definition("Pct", name="100% Pure", publisher="P"))
    await create(client, admin, definition("Wow", name="Wow!", publisher="P"))

    async def ids(q: str) -> list[str]:
        found = (await client.get(TITLES, params={"q": q}, headers=admin)).json()
        return [t["id"] for t in found["items"]]

    assert await ids("_") == ["A_B"]
    assert await ids("a_b") == ["A_B"]
    assert await ids("%") == ["Pct"]
    assert await ids("\\") == []
    assert await ids("w!") == ["Wow"]


async def test_search_total_counts_every_match_not_just_the_page(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for index in range(3):
        await create(client, admin, definition(f"Match{index}"))
    await create(client, admin, definition("Else", name="Else"))

    body = (
        await client.get(TITLES, params={"q": "match", "perPage": 1, "page": 2}, headers=admin)
    ).json()

    assert body["total"] == 3
    assert [t["id"] for t in body["items"]] == ["Match1"]


# -- revisions ------------------------------------------------------------------------------------


async def test_every_title_write_records_one_revision_with_actor_and_reason(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice = await make_token(app, "alice", "titles:write")
    await client.post(TITLES, params={"reason": "first"}, json=definition(), headers=alice)
    await client.put(
        f"{TITLES}/Example", params={"reason": "rename"}, json=definition(name="N"), headers=alice
    )

    history = await revisions(app, "Example")

    assert [(r.action, r.actor, r.reason) for r in history] == [
        ("create", "token:alice", "first"),
        ("replace", "token:alice", "rename"),
    ]


async def test_a_refused_write_records_no_revision(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(client, admin, definition())
    bad = definition()
    del bad["patches"]

    response = await client.put(f"{TITLES}/Example", json=bad, headers=admin)

    assert response.status_code == 422
    assert len(await revisions(app, "Example")) == 1


async def test_posted_definition_is_served_on_the_feed(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await client.post(
        "/api/v1/titles", content=fixture_text("example.json"), headers=admin
    )
    assert created.status_code == 201, created.text
    assert created.json()["revision"] == 1

    served = await client.get("/jamf/v1/patch/Example")
    assert served.status_code == 200
    document = served.json()
    original = json.loads(fixture_text("example.json"))
    assert [p["version"] for p in document["patches"]] == [
        p["version"] for p in original["patches"]
    ]
    assert document["currentVersion"] == "2.1.0"

    summaries = (await client.get("/jamf/v1/software")).json()
    assert [s["id"] for s in summaries] == ["Example"]
