"""Signing in through the API with a real slapd behind it: roles from groups, the re-check that
ends a session when a group is lost, and a directory that is away answered as such."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from pomona.app import create_app
from pomona.settings import Settings
from tests.accounts.conftest import sign_in
from tests.fixtures.slapd import MODIFY_DELETE, PASSWORDS, Slapd, group, person


def ldap_settings(slapd: Slapd, tmp_path: Path, **overrides: object) -> Settings:
    return slapd.settings(
        data_dir=tmp_path / "data",
        group_roles={
            group("admins"): ["admin"],
            group("editors"): ["editor"],
        },
        session_recheck_seconds=0.0,  # every request asks the directory again
        **overrides,
    )


@pytest.fixture
async def client(slapd: Slapd, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ldap_settings(slapd, tmp_path))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pomona.test") as c:
            yield c


async def test_a_directory_person_signs_in_with_the_roles_of_their_groups(
    client: httpx.AsyncClient,
) -> None:
    await sign_in(client, "bob", PASSWORDS["bob"])
    me = (await client.get("/api/v1/session")).json()

    assert me["user"]["source"] == "ldap"
    assert me["user"]["roles"] == ["editor"]
    assert "titles:write" in me["scopes"]
    wrong = await client.post(
        "/api/v1/session", json={"username": "alice", "password": PASSWORDS["bob"]}
    )
    assert wrong.status_code == 401


@pytest.fixture
def frank_back_in_editors(slapd: Slapd) -> Iterator[None]:
    yield
    slapd.restore_editors()


@pytest.mark.usefixtures("frank_back_in_editors")
async def test_removed_from_the_group_in_the_directory_the_session_ends(
    client: httpx.AsyncClient, slapd: Slapd
) -> None:
    await sign_in(client, "frank", PASSWORDS["frank"])
    assert (await client.get("/api/v1/titles")).status_code == 200

    slapd.modify(group("editors"), {"member": [(MODIFY_DELETE, [person("frank")])]})

    gone = await client.get("/api/v1/titles")
    assert gone.status_code == 401
    assert gone.json()["errors"][0]["code"] == "session_expired"


async def test_a_directory_that_is_away_is_unavailable_not_a_wrong_password(
    slapd: Slapd, tmp_path: Path
) -> None:
    app: FastAPI = create_app(ldap_settings(slapd, tmp_path, ldap_bind_password="wrong"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pomona.test") as c:
            answer = await c.post(
                "/api/v1/session", json={"username": "bob", "password": PASSWORDS["bob"]}
            )
    assert answer.status_code == 503
    assert answer.json()["errors"][0]["code"] == "ldap_bind_refused"
