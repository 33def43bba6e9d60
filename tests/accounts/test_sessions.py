"""Sign-in, sessions and CSRF over HTTP, on every engine: the cookie's flags, who am I, sign-out,
the idle and absolute limits, revocation, and a stolen cookie without its CSRF token."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from pomona.accounts.models import AccountSession
from pomona.db import utcnow
from tests.accounts.conftest import PASSWORD, make_person, sign_in
from tests.conftest import fixture_text


async def test_sign_in_sets_a_guarded_cookie_and_answers_who_and_the_csrf_token(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_person(app, "alice", "editor")
    answer = await client.post(
        "/api/v1/session",
        json={"username": "alice", "password": PASSWORD},
        headers={"User-Agent": "test-browser"},
    )
    assert answer.status_code == 200, answer.text
    cookie = answer.headers["set-cookie"]
    assert "pomona_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http from loopback: a browser on the server itself
    body = answer.json()
    assert body["user"]["username"] == "alice"
    assert body["via"] == "session"
    assert "titles:write" in body["scopes"]
    assert body["csrfToken"]
    again = await client.get("/api/v1/session")
    assert again.json()["csrfToken"] == body["csrfToken"]
    assert again.json()["user"]["lastSignInAt"] is not None


async def test_the_cookie_is_secure_unless_plain_http_from_loopback(app: FastAPI) -> None:
    await make_person(app, "alice", "viewer")
    remote = httpx.ASGITransport(app=app, client=("192.0.2.7", 5000))
    async with httpx.AsyncClient(transport=remote, base_url="http://pomona.test") as http:
        answer = await http.post(
            "/api/v1/session", json={"username": "alice", "password": PASSWORD}
        )
    assert answer.status_code == 200
    assert "Secure" in answer.headers["set-cookie"]


async def test_a_stolen_cookie_without_the_csrf_token_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_person(app, "alice", "editor")
    csrf = await sign_in(client, "alice")
    definition = fixture_text("example.json")
    missing = await client.post("/api/v1/titles", content=definition)
    assert missing.status_code == 403
    assert missing.json()["errors"][0]["code"] == "csrf_missing"
    wrong = await client.post(
        "/api/v1/titles", content=definition, headers={"X-CSRF-Token": "guessed"}
    )
    assert wrong.status_code == 403
    assert wrong.json()["errors"][0]["code"] == "csrf_mismatch"
    assert (await client.get("/api/v1/titles")).json()["total"] == 0
    made = await client.post("/api/v1/titles", content=definition, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201, made.text
    log = await app.state.services.audit.search(action="title.create")
    assert [(e.actor, e.via) for e in log.items] == [("alice", "session")]


async def test_sign_out_ends_the_session_on_the_server(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_person(app, "alice", "viewer")
    csrf = await sign_in(client, "alice")
    stolen = client.cookies["pomona_session"]
    out = await client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204
    assert "pomona_session" not in client.cookies
    replayed = await client.get("/api/v1/session", headers={"Cookie": f"pomona_session={stolen}"})
    assert replayed.status_code == 401
    assert replayed.json()["errors"][0]["code"] == "session_expired"
    assert (await client.get("/api/v1/session")).json()["errors"][0]["code"] == "token_missing"


async def test_idle_and_absolute_limits_end_sessions(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_person(app, "alice", "viewer")
    await sign_in(client, "alice")
    assert (await client.get("/api/v1/titles")).status_code == 200
    db = app.state.services.db
    settings = app.state.settings
    idle = timedelta(minutes=settings.session_idle_minutes, seconds=1)
    async with db.transaction() as session:
        await session.execute(update(AccountSession).values(last_seen_at=utcnow() - idle))
    answer = await client.get("/api/v1/titles")
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["code"] == "session_expired"

    await sign_in(client, "alice")
    async with db.transaction() as session:
        await session.execute(update(AccountSession).values(expires_at=utcnow()))
    assert (await client.get("/api/v1/titles")).status_code == 401


async def test_admins_list_and_revoke_sessions_and_disabling_ends_them(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(app, "alice", "viewer")
    await sign_in(client, "alice")
    listed = await client.get("/api/v1/users/alice/sessions", headers=admin)
    assert listed.status_code == 200
    (only,) = listed.json()["items"]
    assert only["via"] == "password"
    assert only["client"] == "127.0.0.1"
    revoked = await client.delete("/api/v1/users/alice/sessions", headers=admin)
    assert revoked.json() == {"revoked": 1}
    assert (await client.get("/api/v1/titles")).status_code == 401

    await sign_in(client, "alice")
    disabled = await client.patch("/api/v1/users/alice", json={"disabled": True}, headers=admin)
    assert disabled.status_code == 200
    assert disabled.json()["disabled"]
    assert (await client.get("/api/v1/titles")).status_code == 401
    refused = await client.post("/api/v1/session", json={"username": "alice", "password": PASSWORD})
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "account_disabled"


async def test_a_bearer_request_needs_no_csrf_token(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    made = await client.post(
        "/api/v1/users", json={"username": "carol", "roles": ["viewer"]}, headers=admin
    )
    assert made.status_code == 201, made.text
    assert made.json()["roles"] == ["viewer"]


async def test_password_change_ends_the_other_sessions_and_a_reset_ends_all(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_person(app, "alice", "viewer")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pomona.test") as laptop:
        await sign_in(laptop, "alice")
        csrf = {"X-CSRF-Token": await sign_in(client, "alice")}
        wrong = await client.put(
            "/api/v1/users/me/password",
            json={"oldPassword": "not the password", "newPassword": "a brand new one"},
            headers=csrf,
        )
        assert wrong.status_code == 422
        assert wrong.json()["errors"][0]["code"] == "password_wrong"
        changed = await client.put(
            "/api/v1/users/me/password",
            json={"oldPassword": PASSWORD, "newPassword": "a brand new one"},
            headers=csrf,
        )
        assert changed.status_code == 204, changed.text
        assert (await client.get("/api/v1/titles")).status_code == 200  # this session stays
        assert (await laptop.get("/api/v1/titles")).status_code == 401  # the other one ended
    assert await sign_in(client, "alice", "a brand new one")

    reset = await client.post(
        "/api/v1/users/alice/password", json={"password": "set by the admin"}, headers=admin
    )
    assert reset.status_code == 204
    assert (await client.get("/api/v1/titles")).status_code == 401
    assert await sign_in(client, "alice", "set by the admin")
    log = await app.state.services.audit.search(action="user.password_*")
    assert [e.action for e in log.items] == ["user.password_reset", "user.password_change"]
