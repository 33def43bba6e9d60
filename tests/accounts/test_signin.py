"""Sign-in on every engine: lockout counted per username (existing or not, answered alike) with
a backoff it states, the second factor, rehashing, and directory people re-checked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pyotp
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import select, update

from pomona.accounts.directory import DirectoryPerson
from pomona.accounts.models import Account, AccountTotp
from pomona.accounts.service import Accounts
from pomona.accounts.signin import Attempt
from pomona.app import create_app
from pomona.errors import Forbidden, Unauthenticated
from pomona.settings import Settings
from tests.accounts.conftest import PASSWORD, accounts, make_person, sign_in


async def _refusal(app: FastAPI, username: str, password: str) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        await accounts(app).signin(Attempt(username, password))
    return caught.value


async def test_lockout_counts_per_username_and_reads_alike_for_unknown_names(
    app: FastAPI,
) -> None:
    await make_person(app, "alice", "viewer")
    await make_person(app, "bob", "viewer")
    threshold = app.state.settings.signin_lockout_failures
    for name in ("alice", "nobody"):
        for _ in range(threshold - 1):
            refused = await _refusal(app, name, "wrong password!")
            assert refused.code == "signin_failed"
            assert refused.problems[0].message == "the username or the password is wrong"
        locked = await _refusal(app, name, "wrong password!")
        assert locked.code == "signin_locked"
        assert "try again in 30 seconds" in locked.problems[0].message
        # Locked: even the right password is refused, with the time left.
        again = await _refusal(app, name, PASSWORD)
        assert again.code == "signin_locked"
    # Counted per username: bob is not locked by alice's failures.
    assert (await accounts(app).signin(Attempt("bob", PASSWORD))).secret


async def test_the_lockout_doubles_and_a_success_clears_it(app: FastAPI) -> None:
    from pomona.accounts.models import SigninFailure
    from pomona.db import utcnow

    await make_person(app, "alice", "viewer")
    threshold = app.state.settings.signin_lockout_failures
    for _ in range(threshold):
        await _refusal(app, "alice", "wrong password!")
    db = app.state.services.db
    async with db.transaction() as session:  # the first lockout has run out
        await session.execute(update(SigninFailure).values(locked_until=utcnow()))
    longer = await _refusal(app, "alice", "wrong password!")
    assert "try again in 60 seconds" in longer.problems[0].message
    async with db.transaction() as session:
        await session.execute(update(SigninFailure).values(locked_until=utcnow()))
    assert (await accounts(app).signin(Attempt("alice", PASSWORD))).secret
    async with db.sessions() as session:
        assert await session.get(SigninFailure, "alice") is None


async def test_a_stale_hash_is_replaced_at_sign_in(app: FastAPI) -> None:
    await make_person(app, "alice", "viewer")
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    db = app.state.services.db
    async with db.transaction() as session:
        await session.execute(update(Account).values(password_hash=weak))
    await accounts(app).signin(Attempt("alice", PASSWORD))
    async with db.sessions() as session:
        stored = await session.scalar(select(Account.password_hash))
    assert stored != weak
    assert stored is not None
    assert "m=65536" in stored


async def test_totp_enrol_confirm_sign_in_recovery_and_disable(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_person(app, "alice", "editor")
    csrf = await sign_in(client, "alice")
    headers = {"X-CSRF-Token": csrf}
    enrolled = (await client.post("/api/v1/users/me/totp", headers=headers)).json()
    assert enrolled["uri"].startswith("otpauth://totp/Pomona:alice?secret=")
    totp = pyotp.TOTP(enrolled["secret"])
    wrong = await client.post(
        "/api/v1/users/me/totp/confirm", json={"code": "000000"}, headers=headers
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["code"] == "totp_invalid"
    confirmed = await client.post(
        "/api/v1/users/me/totp/confirm", json={"code": totp.now()}, headers=headers
    )
    assert confirmed.status_code == 200, confirmed.text
    recovery = confirmed.json()["recoveryCodes"]
    assert len(recovery) == 10
    async with app.state.services.db.sessions() as session:
        stored = await session.scalar(select(AccountTotp.recovery_hashes))
    assert stored is not None
    assert recovery[0] not in stored

    needs = await client.post("/api/v1/session", json={"username": "alice", "password": PASSWORD})
    assert needs.status_code == 401
    assert needs.json()["errors"][0]["code"] == "totp_required"
    # The code that confirmed enrolment was spent: the next sign-in needs a recovery code or
    # the next step's code. A recovery code works once.
    assert await sign_in(client, "alice", code=recovery[0])
    reused = await client.post(
        "/api/v1/session", json={"username": "alice", "password": PASSWORD, "code": recovery[0]}
    )
    assert reused.status_code == 401
    assert reused.json()["errors"][0]["code"] == "signin_failed"
    csrf = await sign_in(client, "alice", code=recovery[1])
    off = await client.post(
        "/api/v1/users/me/totp/disable", json={"code": recovery[2]}, headers={"X-CSRF-Token": csrf}
    )
    assert off.status_code == 204
    assert await sign_in(client, "alice")


class Directory:
    """A directory of people held in memory: the contract of ``accounts.directory``, for the
    sign-in and re-check paths (the LDAP implementation has its own suite against slapd)."""

    def __init__(self) -> None:
        self.people: dict[str, tuple[str, DirectoryPerson]] = {}

    async def authenticate(self, username: str, password: str) -> DirectoryPerson | None:
        found = self.people.get(username)
        return found[1] if found and found[0] == password else None

    async def lookup(self, username: str) -> DirectoryPerson | None:
        found = self.people.get(username)
        return found[1] if found else None


@pytest.fixture
async def directory_app(settings: Settings) -> AsyncIterator[tuple[FastAPI, Directory]]:
    settings = settings.model_copy(
        update={
            "group_roles": {"cn=editors,ou=groups,dc=example": ["editor"]},
            "session_recheck_seconds": 0.0,
        }
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        directory = Directory()
        services = application.state.services
        rebuilt = Accounts.build(services.db, settings, directory)
        application.state.services = replace(services, accounts=rebuilt)
        yield application, directory


async def test_a_directory_person_loses_access_at_the_recheck(
    directory_app: tuple[FastAPI, Directory],
) -> None:
    app, directory = directory_app
    dana = DirectoryPerson(
        "dana", "Dana", "dana@example.org", frozenset({"CN=Editors, OU=Groups, DC=example"}), "ldap"
    )
    directory.people["dana"] = ("directory secret", dana)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pomona.test") as client:
        csrf = await sign_in(client, "dana", "directory secret")
        me = (await client.get("/api/v1/session")).json()
        assert me["user"]["source"] == "ldap"
        assert me["user"]["roles"] == ["editor"]
        assert "titles:write" in me["scopes"]
        assert me["via"] == "ldap"
        assert csrf
        # Removed from the group: the next request (the re-check interval is 0 here) ends it.
        directory.people["dana"] = ("directory secret", replace(dana, groups=frozenset()))
        gone = await client.get("/api/v1/titles")
        assert gone.status_code == 401
        assert gone.json()["errors"][0]["code"] == "session_expired"
        refused = await client.post(
            "/api/v1/session", json={"username": "dana", "password": "directory secret"}
        )
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["code"] == "no_role"
    assert (await accounts(app).people.get("dana")).roles == []
    with pytest.raises(Forbidden):
        await accounts(app).signin(Attempt("dana", "directory secret"))
