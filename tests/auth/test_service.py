"""API tokens: how they are stored, and how the API enforces them (401, 403, title limits)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from pomona.auth.models import ApiToken
from pomona.errors import Conflict, Invalid, NotFound
from tests.conftest import fixture_text, make_token

TITLES = "/api/v1/titles"


def definition(title_id: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(fixture_text("example.json"))
    document["id"] = title_id
    return document


def version(number: str) -> dict[str, Any]:
    patch: dict[str, Any] = definition("Example")["patches"][0]
    patch["version"] = number
    return patch


async def token_rows(app: FastAPI) -> list[ApiToken]:
    async with app.state.services.db.sessions() as session:
        return list(await session.scalars(select(ApiToken).order_by(ApiToken.name)))


# -- storage --------------------------------------------------------------------------------------


async def test_a_token_is_stored_only_as_its_sha256(app: FastAPI) -> None:
    info, secret = await app.state.services.tokens.create("ci", ["titles:write"])

    [row] = await token_rows(app)
    assert secret.startswith("pmn_")
    assert len(secret) > 40
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = [str(getattr(row, column.key)) for column in ApiToken.__table__.columns]
    assert not any(secret in value or secret[4:] in value for value in stored)
    assert info.name == "ci"
    assert info.scopes == ["titles:write"]


async def test_two_tokens_never_share_a_secret(app: FastAPI) -> None:
    _, first = await app.state.services.tokens.create("one", ["admin"])
    _, second = await app.state.services.tokens.create("two", ["admin"])

    assert first != second


@pytest.mark.parametrize(
    ("name", "scopes", "titles", "path"),
    [
        ("has space", ["admin"], None, "/name"),
        ("ok", [], None, "/scopes"),
        ("ok", ["root"], None, "/scopes/0"),
        ("ok", ["admin"], ["Example"], "/titles"),
        ("ok", ["titles:write"], ["bad id"], "/titles/0"),
    ],
)
async def test_a_bad_token_request_is_refused_with_the_reason(
    app: FastAPI, name: str, scopes: list[str], titles: list[str] | None, path: str
) -> None:
    with pytest.raises(Invalid) as raised:
        await app.state.services.tokens.create(name, scopes, titles=titles)

    assert [p.path for p in raised.value.problems] == [path]
    assert await token_rows(app) == []


async def test_a_second_token_with_a_taken_name_is_409(app: FastAPI) -> None:
    await app.state.services.tokens.create("ci", ["admin"])

    with pytest.raises(Conflict) as raised:
        await app.state.services.tokens.create("ci", ["titles:read"])

    assert "pomona token revoke ci" in str(raised.value)


async def test_list_and_revoke(app: FastAPI, client: httpx.AsyncClient) -> None:
    headers = await make_token(app, "ci", "titles:read")
    await make_token(app, "alpha", "admin")

    names = [t.name for t in await app.state.services.tokens.list_tokens()]
    assert names == ["alpha", "ci"]

    await app.state.services.tokens.revoke("ci")

    assert [t.name for t in await app.state.services.tokens.list_tokens()] == ["alpha"]
    assert (await client.get(TITLES, headers=headers)).status_code == 401
    with pytest.raises(NotFound) as raised:
        await app.state.services.tokens.revoke("ci")
    assert "pomona token list" in str(raised.value)


async def test_use_is_recorded(app: FastAPI, client: httpx.AsyncClient) -> None:
    headers = await make_token(app, "ci", "titles:read")
    [before] = await app.state.services.tokens.list_tokens()
    assert before.last_used_at is None

    await client.get(TITLES, headers=headers)

    [after] = await app.state.services.tokens.list_tokens()
    assert after.last_used_at is not None
    assert after.last_used_at >= before.created_at


# -- 401 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4=", "Bearer pmn_not-a-real-token"],
)
async def test_no_valid_token_is_401_with_www_authenticate(
    app: FastAPI, client: httpx.AsyncClient, authorization: str | None
) -> None:
    await make_token(app, "admin", "admin")
    headers = {} if authorization is None else {"Authorization": authorization}

    for method, path in (("GET", TITLES), ("POST", TITLES), ("DELETE", f"{TITLES}/Example")):
        response = await client.request(method, path, headers=headers)

        assert response.status_code == 401, (method, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
        assert "pomona token create" in response.json()["errors"][0]["message"]


async def test_an_expired_token_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    _, secret = await app.state.services.tokens.create("old", ["admin"], expires_at=past)

    response = await client.get(TITLES, headers={"Authorization": f"Bearer {secret}"})

    assert response.status_code == 401
    assert "expired" in response.json()["errors"][0]["message"]


async def test_a_token_before_its_expiry_works(app: FastAPI, client: httpx.AsyncClient) -> None:
    future = datetime.now(UTC) + timedelta(days=1)
    _, secret = await app.state.services.tokens.create("new", ["admin"], expires_at=future)

    response = await client.get(TITLES, headers={"Authorization": f"Bearer {secret}"})

    assert response.status_code == 200


async def test_the_jamf_feed_needs_no_token(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await client.post(TITLES, json=definition("Example"), headers=admin)

    assert (await client.get("/jamf/v1/software")).status_code == 200
    assert (await client.get("/jamf/v1/patch/Example")).status_code == 200


# -- 403 ------------------------------------------------------------------------------------------


async def test_a_read_only_token_reads_but_cannot_write(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await client.post(TITLES, json=definition("Example"), headers=admin)
    reader = await make_token(app, "reader", "titles:read")

    assert (await client.get(TITLES, headers=reader)).status_code == 200
    assert (await client.get(f"{TITLES}/Example", headers=reader)).status_code == 200
    assert (await client.get(f"{TITLES}/Example/versions", headers=reader)).status_code == 200

    writes = [
        client.post(TITLES, json=definition("New"), headers=reader),
        client.put(f"{TITLES}/Example", json=definition("Example"), headers=reader),
        client.delete(f"{TITLES}/Example", headers=reader),
        client.post(f"{TITLES}/Example/versions", json=version("9.0"), headers=reader),
        client.put(f"{TITLES}/Example/versions/2.1.0", json=version("2.1.0"), headers=reader),
        client.delete(f"{TITLES}/Example/versions/2.1.0", headers=reader),
    ]
    for write in writes:
        response = await write
        assert response.status_code == 403, response.text
        message = response.json()["errors"][0]["message"]
        assert "titles:write" in message
        assert "pomona token create" in message
    assert [t["id"] for t in (await client.get(TITLES, headers=admin)).json()["items"]] == [
        "Example"
    ]
    assert len((await client.get(f"{TITLES}/Example/versions", headers=admin)).json()) == 3


async def test_a_write_token_without_read_scope_still_reads(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    writer = await make_token(app, "writer", "titles:write")

    assert (await client.get(TITLES, headers=writer)).status_code == 200


async def test_a_token_limited_to_titles_writes_only_those(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await client.post(TITLES, json=definition("Theirs"), headers=admin)
    limited = await make_token(app, "limited", "titles:write", titles=["Mine"])

    # Its own title: every write works.
    mine = f"{TITLES}/Mine"
    assert (await client.post(TITLES, json=definition("Mine"), headers=limited)).status_code == 201
    assert (await client.put(mine, json=definition("Mine"), headers=limited)).status_code == 200
    added = await client.post(f"{mine}/versions", json=version("9.0"), headers=limited)
    assert added.status_code == 201
    edited = await client.put(f"{mine}/versions/9.0", json=version("9.1"), headers=limited)
    assert edited.status_code == 200
    assert (await client.delete(f"{mine}/versions/9.1", headers=limited)).status_code == 200
    assert (await client.delete(mine, headers=limited)).status_code == 204

    # Another title: reads yes, writes no.
    theirs = f"{TITLES}/Theirs"
    assert (await client.get(theirs, headers=limited)).status_code == 200
    assert (await client.get(TITLES, headers=limited)).json()["total"] == 1
    refused = [
        client.post(TITLES, json=definition("Other"), headers=limited),
        client.put(theirs, json=definition("Theirs"), headers=limited),
        client.delete(theirs, headers=limited),
        client.post(f"{theirs}/versions", json=version("9.0"), headers=limited),
        client.put(f"{theirs}/versions/2.1.0", json=version("2.1.0"), headers=limited),
        client.delete(f"{theirs}/versions/2.1.0", headers=limited),
    ]
    for write in refused:
        response = await write
        assert response.status_code == 403, response.text
        assert "may write only: Mine" in response.json()["errors"][0]["message"]
    assert (await client.get(f"{TITLES}/Other", headers=admin)).status_code == 404
    assert (await client.get(theirs, headers=admin)).headers["etag"] == '"r1"'


async def test_a_limited_token_cannot_create_another_title_by_its_body(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """The id comes from the body on create; the limit must be checked against it."""
    limited = await make_token(app, "limited", "titles:write", titles=["Mine"])

    for body in (definition("Other"), {**definition("Other"), "id": ["Mine"]}):
        response = await client.post(TITLES, json=body, headers=limited)
        assert response.status_code in (403, 422), response.text

    assert (await client.get(TITLES, headers=admin)).json()["total"] == 0
