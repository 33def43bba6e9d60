"""Accounts fixtures: people made through the service, signed in through the API."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from pomona.accounts.service import Accounts

PASSWORD = "correct horse battery"


def accounts(app: FastAPI) -> Accounts:
    found = app.state.services.accounts
    assert isinstance(found, Accounts)
    return found


async def make_person(
    app: FastAPI, username: str, *roles: str, password: str | None = PASSWORD
) -> None:
    await accounts(app).people.create(username, password, roles_=list(roles))


async def sign_in(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD, code: str | None = None
) -> str:
    """Sign in through the API; the client keeps the cookie. Returns the CSRF token."""
    answer = await client.post(
        "/api/v1/session", json={"username": username, "password": password, "code": code}
    )
    assert answer.status_code == 200, answer.text
    token = answer.json()["csrfToken"]
    assert isinstance(token, str)
    return token


async def personal_token(app: FastAPI, username: str, *scopes: str) -> dict[str, str]:
    """Bearer headers of a personal token of ``username`` carrying ``scopes`` (default: every
    scope the person holds)."""
    from datetime import timedelta

    from pomona.db import utcnow

    owner = await accounts(app).people.principal(username, "session")
    assert owner is not None
    _, secret = await accounts(app).tokens.create(
        owner,
        f"t{len(scopes)}",
        list(scopes or owner.scopes),
        titles=None,
        expires_at=utcnow() + timedelta(days=1),
    )
    return {"Authorization": f"Bearer {secret}"}
