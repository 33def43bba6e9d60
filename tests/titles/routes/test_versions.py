"""The titles API on single versions: list, add, place, get, edit, delete, and what follows."""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from pomona.titles.models import TitleRevision
from tests.conftest import fixture_text, make_token

TITLE = "/api/v1/titles/Example"
VERSIONS = f"{TITLE}/versions"
ORIGINAL = ["2.1.0", "2.0.1", "1.9.7"]


def version(number: str, **changes: Any) -> dict[str, Any]:
    """The example's newest version, renumbered."""
    document: dict[str, Any] = json.loads(fixture_text("example.json"))
    patch: dict[str, Any] = copy.deepcopy(document["patches"][0])
    patch["version"] = number
    patch["components"][0]["version"] = number
    patch.update(changes)
    return patch


@pytest.fixture
async def title(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    """The example title, created; its definition as stored."""
    response = await client.post(
        "/api/v1/titles", content=fixture_text("example.json"), headers=admin
    )
    assert response.status_code == 201, response.text
    definition: dict[str, Any] = response.json()["definition"]
    return definition


async def listed(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    response = await client.get(VERSIONS, headers=headers)
    assert response.status_code == 200, response.text
    return [p["version"] for p in response.json()]


async def stored(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get(TITLE, headers=headers)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


async def history(app: FastAPI) -> list[TitleRevision]:
    async with app.state.services.db.sessions() as session:
        rows = await session.scalars(
            select(TitleRevision)
            .where(TitleRevision.title_id == "Example")
            .order_by(TitleRevision.number)
        )
        return list(rows)


# -- reads ----------------------------------------------------------------------------------------


async def test_list_answers_every_version_newest_first(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    response = await client.get(VERSIONS, headers=admin)

    assert response.status_code == 200
    assert response.json() == title["patches"]
    assert [p["version"] for p in response.json()] == ORIGINAL


async def test_get_one_version(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    response = await client.get(f"{VERSIONS}/2.0.1", headers=admin)

    assert response.status_code == 200
    assert response.json() == title["patches"][1]


async def test_get_of_an_unknown_version_is_404_version_not_found(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    response = await client.get(f"{VERSIONS}/9.9", headers=admin)

    assert response.status_code == 404
    [error] = response.json()["errors"]
    assert "9.9" in error["message"]
    assert error["code"] == "version_not_found"
    assert "/api/" not in error["message"]


async def test_versions_of_an_unknown_title_are_404(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    assert (await client.get("/api/v1/titles/Nothing/versions", headers=admin)).status_code == 404
    added = await client.post("/api/v1/titles/Nothing/versions", json=version("1.0"), headers=admin)
    assert added.status_code == 404


# -- add ------------------------------------------------------------------------------------------


async def test_add_makes_the_newest_version_by_default(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    response = await client.post(VERSIONS, json=version("3.0.0"), headers=admin)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] == "Example"
    assert body["revision"] == 2
    assert body["version"]["version"] == "3.0.0"
    assert body["warnings"] == []
    assert await listed(client, admin) == ["3.0.0", *ORIGINAL]
    assert (await stored(client, admin))["currentVersion"] == "3.0.0"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"after": "2.1.0"}, ["2.1.0", "2.0.5", "2.0.1", "1.9.7"]),
        ({"after": "1.9.7"}, ["2.1.0", "2.0.1", "1.9.7", "2.0.5"]),
        ({"before": "2.0.1"}, ["2.1.0", "2.0.5", "2.0.1", "1.9.7"]),
        ({"before": "2.1.0"}, ["2.0.5", "2.1.0", "2.0.1", "1.9.7"]),
    ],
)
async def test_add_places_the_version_after_or_before_another(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    title: dict[str, Any],
    params: dict[str, str],
    expected: list[str],
) -> None:
    response = await client.post(VERSIONS, params=params, json=version("2.0.5"), headers=admin)

    assert response.status_code == 201, response.text
    assert await listed(client, admin) == expected
    assert (await stored(client, admin))["currentVersion"] == expected[0]


async def test_add_placed_next_to_an_unknown_version_is_404_in_the_query(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    response = await client.post(
        VERSIONS, params={"after": "0.1"}, json=version("2.0.5"), headers=admin
    )

    assert response.status_code == 404
    [error] = response.json()["errors"]
    assert (error["path"], error["location"]) == ("/after", "query")
    assert await listed(client, admin) == ORIGINAL


async def test_add_with_both_after_and_before_is_422(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    response = await client.post(
        VERSIONS,
        params={"after": "2.0.1", "before": "2.1.0"},
        json=version("2.0.5"),
        headers=admin,
    )

    assert response.status_code == 422
    assert "either" in response.json()["errors"][0]["message"]


async def test_add_of_an_existing_version_is_409_pointing_at_put(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    response = await client.post(VERSIONS, json=version("2.0.1"), headers=admin)

    assert response.status_code == 409
    [error] = response.json()["errors"]
    assert error["path"] == "/version"
    assert error["code"] == "version_exists"
    assert "/api/" not in error["message"]
    assert await listed(client, admin) == ORIGINAL


async def test_add_of_an_invalid_version_reports_paths_inside_the_version(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    bad = version("3.0.0", reboot="maybe")
    del bad["components"]

    response = await client.post(VERSIONS, json=bad, headers=admin)

    assert response.status_code == 422
    assert {e["path"] for e in response.json()["errors"]} == {"/components", "/reboot"}
    assert await listed(client, admin) == ORIGINAL


async def test_add_returns_warnings_relative_to_the_version(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    response = await client.post(VERSIONS, json=version("3.0.0", standalone="TRUE"), headers=admin)

    assert response.status_code == 201, response.text
    assert [w["path"] for w in response.json()["warnings"]] == ["/standalone"]
    assert response.json()["version"]["standalone"] is True


@pytest.mark.parametrize("body", ["[]", '"3.0"', "42"])
async def test_add_of_something_not_an_object_is_422(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any], body: str
) -> None:
    response = await client.post(
        VERSIONS, content=body, headers={**admin, "Content-Type": "application/json"}
    )

    assert response.status_code == 422
    assert "object" in response.json()["errors"][0]["message"]


# -- edit -----------------------------------------------------------------------------------------


async def test_edit_in_place_keeps_the_position(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    response = await client.put(
        f"{VERSIONS}/2.0.1", json=version("2.0.1", reboot=True), headers=admin
    )

    assert response.status_code == 200, response.text
    assert response.json()["version"]["reboot"] is True
    assert await listed(client, admin) == ORIGINAL
    assert (await client.get(f"{VERSIONS}/2.0.1", headers=admin)).json()["reboot"] is True


async def test_edit_may_rename_a_version_in_its_place(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    response = await client.put(f"{VERSIONS}/2.0.1", json=version("2.0.2"), headers=admin)

    assert response.status_code == 200, response.text
    assert response.json()["version"]["version"] == "2.0.2"
    assert await listed(client, admin) == ["2.1.0", "2.0.2", "1.9.7"]
    assert (await client.get(f"{VERSIONS}/2.0.1", headers=admin)).status_code == 404


async def test_renaming_the_newest_version_moves_current_version(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    await client.put(f"{VERSIONS}/2.1.0", json=version("2.1.1"), headers=admin)

    assert (await stored(client, admin))["currentVersion"] == "2.1.1"
    feed = (await client.get("/jamf/v1/software")).json()
    assert feed[0]["currentVersion"] == "2.1.1"


async def test_renaming_onto_another_existing_version_is_409(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    response = await client.put(f"{VERSIONS}/2.0.1", json=version("1.9.7"), headers=admin)

    assert response.status_code == 409
    assert await listed(client, admin) == ORIGINAL


async def test_edit_of_an_unknown_version_is_404(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    response = await client.put(f"{VERSIONS}/9.9", json=version("9.9"), headers=admin)

    assert response.status_code == 404


async def test_edit_into_an_invalid_version_is_422_and_changes_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    response = await client.put(
        f"{VERSIONS}/2.0.1", json=version("2.0.1", releaseDate="soon"), headers=admin
    )

    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == ["/releaseDate"]
    assert (await stored(client, admin))["patches"] == title["patches"]


# -- delete ---------------------------------------------------------------------------------------


async def test_delete_a_version(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    response = await client.delete(f"{VERSIONS}/2.0.1", headers=admin)

    assert response.status_code == 200, response.text
    assert response.json()["version"] is None
    assert response.json()["revision"] == 2
    assert await listed(client, admin) == ["2.1.0", "1.9.7"]


async def test_deleting_the_newest_version_moves_current_version(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    await client.delete(f"{VERSIONS}/2.1.0", headers=admin)

    assert (await stored(client, admin))["currentVersion"] == "2.0.1"
    patch = (await client.get("/jamf/v1/patch/Example")).json()
    assert patch["currentVersion"] == "2.0.1"


async def test_deleting_the_last_version_is_refused_with_what_to_do(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    await client.delete(f"{VERSIONS}/2.1.0", headers=admin)
    await client.delete(f"{VERSIONS}/2.0.1", headers=admin)

    response = await client.delete(f"{VERSIONS}/1.9.7", headers=admin)

    assert response.status_code == 409
    [error] = response.json()["errors"]
    assert "only version" in error["message"]
    assert error["code"] == "last_version"
    assert "/api/" not in error["message"]
    assert await listed(client, admin) == ["1.9.7"]
    assert len(await history(app)) == 3


async def test_delete_of_an_unknown_version_is_404(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    response = await client.delete(f"{VERSIONS}/9.9", headers=admin)

    assert response.status_code == 404


# -- what every write does ------------------------------------------------------------------------


async def test_every_write_changes_last_modified_even_within_one_second(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    seen = [title["lastModified"]]

    for write in (
        client.post(VERSIONS, json=version("3.0.0"), headers=admin),
        client.put(f"{VERSIONS}/3.0.0", json=version("3.0.0", reboot=True), headers=admin),
        client.delete(f"{VERSIONS}/3.0.0", headers=admin),
        client.put(TITLE, json=title, headers=admin),
    ):
        assert (await write).status_code in (200, 201)
        current = await stored(client, admin)
        summary = (await client.get("/jamf/v1/software")).json()[0]
        assert summary["lastModified"] == current["lastModified"]
        seen.append(current["lastModified"])

    assert len(set(seen)) == len(seen), seen
    assert seen == sorted(seen)


async def test_every_write_records_one_revision_with_actor_and_reason(
    app: FastAPI, client: httpx.AsyncClient, title: dict[str, Any]
) -> None:
    editor = await make_token(app, "editor", "titles:write")

    await client.post(VERSIONS, params={"reason": "new"}, json=version("3.0"), headers=editor)
    await client.put(
        f"{VERSIONS}/3.0", params={"reason": "fix"}, json=version("3.0.1"), headers=editor
    )
    await client.delete(f"{VERSIONS}/2.0.1", params={"reason": "pulled"}, headers=editor)

    rows = await history(app)
    assert [(r.number, r.action, r.actor, r.reason) for r in rows] == [
        (1, "create", "token:admin", None),
        (2, "add-version", "token:editor", "new"),
        (3, "edit-version", "token:editor", "fix"),
        (4, "delete-version", "token:editor", "pulled"),
    ]
    assert "3.0.1" in rows[2].summary
    latest = json.loads(rows[3].document or "")
    assert [p["version"] for p in latest["patches"]] == ["3.0.1", "2.1.0", "1.9.7"]
    assert (await client.get(TITLE, headers=editor)).headers["etag"] == '"r4"'


async def test_a_refused_version_write_records_no_revision(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    await client.post(VERSIONS, json=version("2.0.1"), headers=admin)  # 409
    await client.put(f"{VERSIONS}/9.9", json=version("9.9"), headers=admin)  # 404

    assert [r.action for r in await history(app)] == ["create"]


async def test_strict_version_writes_accept_a_canonical_version(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    strict = {"strict": "true"}

    added = await client.post(VERSIONS, params=strict, json=version("3.0.0"), headers=admin)
    edited = await client.put(
        f"{VERSIONS}/3.0.0", params=strict, json=version("3.0.1"), headers=admin
    )
    refused = await client.post(
        VERSIONS, params=strict, json=version("4.0", reboot="true"), headers=admin
    )

    assert added.status_code == 201, added.text
    assert edited.status_code == 200, edited.text
    assert refused.status_code == 422
    assert [e["path"] for e in refused.json()["errors"]] == ["/reboot"]


# -- version strings: every one accepted has a URL, every other is version_invalid ---------------


def url_of(value: str) -> str:
    return f"{VERSIONS}/{quote(value, safe='')}"


@pytest.mark.parametrize("value", ["3.0/1", "3.0\n1", "", "  ", "..", "3\u200b0", "3\u20280"])
async def test_add_of_a_version_that_cannot_be_used_is_422_version_invalid(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any], value: str
) -> None:
    response = await client.post(VERSIONS, json=version("3.0", version=value), headers=admin)

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["path"], error["location"], error["code"]) == (
        "/version",
        "body",
        "version_invalid",
    )
    assert await listed(client, admin) == ORIGINAL


async def test_edit_into_a_version_that_cannot_be_used_is_422_version_invalid(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    response = await client.put(f"{VERSIONS}/2.0.1", json=version("2.0/2"), headers=admin)

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["code"] == "version_invalid"
    assert "'/' at character 4" in error["message"]
    assert await listed(client, admin) == ORIGINAL


async def test_whitespace_around_a_new_version_is_repaired_and_answered(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    response = await client.post(VERSIONS, json=version(" 3.0.0\n"), headers=admin)
    refused = await client.post(
        VERSIONS, params={"strict": "true"}, json=version("4.0 "), headers=admin
    )

    assert response.status_code == 201, response.text
    assert response.json()["version"]["version"] == "3.0.0"
    assert [(w["path"], w["code"]) for w in response.json()["warnings"]] == [
        ("/version", "repaired")
    ]
    assert (await stored(client, admin))["currentVersion"] == "3.0.0"
    assert refused.status_code == 422
    assert [e["code"] for e in refused.json()["errors"]] == ["version_invalid"]


@pytest.mark.parametrize("value", [" 2.0.1", "2.0.1\t", "2.0\x001", "2.0\u202e1", "x" * 256])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_a_version_in_the_url_that_no_title_can_have_is_422_in_the_path(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any], value: str, method: str
) -> None:
    body = version("2.0.1") if method == "PUT" else None
    response = await client.request(method, url_of(value), json=body, headers=admin)

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["path"], error["location"], error["code"]) == (
        "/version",
        "path",
        "version_invalid",
    )
    assert await listed(client, admin) == ORIGINAL


async def test_a_version_in_the_url_needs_a_token_before_it_is_checked(
    client: httpx.AsyncClient, title: dict[str, Any]
) -> None:
    assert (await client.get(url_of(" 2.0.1"))).status_code == 401


async def test_unusual_but_valid_versions_are_reachable_by_their_url(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any]
) -> None:
    for value in ("3.0 beta (build 5)", "3.0%2F1", "v3?x#y", "3.0\u00a0rc", "...", "3.0:é"):
        added = await client.post(VERSIONS, json=version(value), headers=admin)
        assert added.status_code == 201, added.text
        found = await client.get(url_of(value), headers=admin)
        assert found.status_code == 200, (value, found.text)
        assert found.json()["version"] == value


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=st.text(max_size=40) | st.text(st.characters(codec="ascii"), max_size=6))
async def test_any_version_is_reachable_at_its_url_or_refused_as_version_invalid(
    client: httpx.AsyncClient, admin: dict[str, str], title: dict[str, Any], value: str
) -> None:
    assume(value.strip() not in ORIGINAL)  # a duplicate is a conflict, not a bad string
    added = await client.post(VERSIONS, json=version("3.0", version=value), headers=admin)

    if added.status_code != 201:
        assert added.status_code == 422, added.text
        assert "version_invalid" in {e["code"] for e in added.json()["errors"]}, added.text
        return
    stored_as = added.json()["version"]["version"]
    assert stored_as == value.strip()
    found = await client.get(url_of(stored_as), headers=admin)
    assert found.status_code == 200, found.text
    assert found.json()["version"] == stored_as
    deleted = await client.delete(url_of(stored_as), headers=admin)
    assert deleted.status_code == 200, deleted.text
