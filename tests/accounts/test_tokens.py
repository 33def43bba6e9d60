"""Personal tokens on every engine: never more than their owner holds, at creation and at every
use; they stop when the owner is disabled or loses the right; service tokens are unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from tests.accounts.conftest import make_person, sign_in
from tests.conftest import fixture_text

EXPIRES = "2099-01-01T00:00:00Z"


async def test_a_personal_token_cannot_exceed_its_owner(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_person(app, "alice", "editor")
    csrf = {"X-CSRF-Token": await sign_in(client, "alice")}
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    refused = await client.post(
        "/api/v1/users/me/tokens",
        json={"name": "ci", "scopes": ["packages:write"], "expiresAt": tomorrow},
        headers=csrf,
    )
    assert refused.status_code == 403
    problem = refused.json()["errors"][0]
    assert problem["code"] == "token_exceeds_owner"
    assert "packages:write" in problem["message"]
    too_far = await client.post(
        "/api/v1/users/me/tokens",
        json={"name": "ci", "scopes": ["titles:read"], "expiresAt": EXPIRES},
        headers=csrf,
    )
    assert too_far.status_code == 422
    assert too_far.json()["errors"][0]["path"] == "/expiresAt"
    made = await client.post(
        "/api/v1/users/me/tokens",
        json={"name": "ci", "scopes": ["titles:read"], "expiresAt": tomorrow},
        headers=csrf,
    )
    assert made.status_code == 201, made.text
    secret = made.json()["token"]
    assert secret.startswith("pmp_")
    listed = (await client.get("/api/v1/users/me/tokens")).json()["items"]
    assert [t["name"] for t in listed] == ["ci"]
    assert "token" not in listed[0]

    bearer = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url)) as ci:
        assert (await ci.get("/api/v1/titles", headers=bearer)).status_code == 200
        write = await ci.post(
            "/api/v1/titles", content=fixture_text("example.json"), headers=bearer
        )
        assert write.status_code == 403  # the token holds titles:read only, though alice writes
        me = (await ci.get("/api/v1/session", headers=bearer)).json()
        assert me["via"] == "token:ci"
        assert me["scopes"] == ["titles:read"]
        assert me["csrfToken"] is None


async def test_a_token_stops_when_its_owner_is_disabled_or_loses_the_right(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    from tests.accounts.conftest import personal_token

    await make_person(app, "alice", "editor")
    bearer = await personal_token(app, "alice", "titles:write")
    created = await client.post(
        "/api/v1/titles", content=fixture_text("example.json"), headers=bearer
    )
    assert created.status_code == 201, created.text
    log = await app.state.services.audit.search(action="title.create")
    assert [(e.actor, e.token_name, e.via) for e in log.items] == [("alice", "t1", "token:t1")]

    await client.patch("/api/v1/users/alice", json={"roles": ["viewer"]}, headers=admin)
    lost = await client.get("/api/v1/titles", headers=bearer)
    assert lost.status_code == 401
    assert lost.json()["errors"][0]["code"] == "token_unknown"
    await client.patch("/api/v1/users/alice", json={"roles": ["editor"]}, headers=admin)
    assert (await client.get("/api/v1/titles", headers=bearer)).status_code == 200
    await client.patch("/api/v1/users/alice", json={"disabled": True}, headers=admin)
    assert (await client.get("/api/v1/titles", headers=bearer)).status_code == 401


async def test_service_tokens_cannot_use_the_me_routes(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    answer = await client.get("/api/v1/users/me/tokens", headers=admin)
    assert answer.status_code == 403
    assert answer.json()["errors"][0]["code"] == "person_required"
