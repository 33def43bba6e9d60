"""Accounts on every engine: created, refused with every problem, edited, disabled, deleted,
audited; the last enabled admin stays."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from pomona.accounts.values import AccountEdit
from pomona.audit.service import Who
from pomona.errors import Conflict, Invalid, NotFound
from tests.accounts.conftest import PASSWORD, accounts, make_person


async def test_create_read_edit_delete_and_every_write_audited(app: FastAPI) -> None:
    people = accounts(app).people
    who = Who("root", via="session")
    made = await people.create(
        "alice", PASSWORD, display_name="Alice", email="a@example.org", roles_=["admin"], who=who
    )
    assert (made.username, made.display_name, made.source, made.roles) == (
        "alice",
        "Alice",
        "local",
        ["admin"],
    )
    await people.create("bob", PASSWORD, roles_=["editor@mac-team", "viewer"], who=who)
    assert [a.username for a in await people.list_accounts()] == ["alice", "bob"]
    edited = await people.edit("bob", AccountEdit(roles=["packager"], disabled=True), who=who)
    assert edited.roles == ["packager"]
    assert edited.disabled
    assert await people.principal("bob", "session") is None  # disabled: no rights at all
    await people.edit("bob", AccountEdit(disabled=False), who=who)
    bob = await people.principal("bob", "session")
    assert bob is not None
    assert bob.allows("packages:write")
    assert bob.user == "bob"
    await people.delete("bob", who=who)
    with pytest.raises(NotFound) as caught:
        await people.get("bob")
    assert caught.value.code == "account_not_found"

    log = await app.state.services.audit.search(target="user:*")
    assert [(e.action, e.target, e.actor, e.via) for e in reversed(log.items)] == [
        ("user.create", "user:alice", "root", "session"),
        ("user.create", "user:bob", "root", "session"),
        ("user.edit", "user:bob", "root", "session"),
        ("user.edit", "user:bob", "root", "session"),
        ("user.delete", "user:bob", "root", "session"),
    ]


async def test_bad_input_lists_every_problem_and_writes_nothing(app: FastAPI) -> None:
    people = accounts(app).people
    with pytest.raises(Invalid) as caught:
        await people.create("no spaces", "short", email="nope", roles_=["boss"])
    codes = {p.path: p.code for p in caught.value.problems}
    assert codes == {
        "/username": "username_invalid",
        "/email": "email_invalid",
        "/password": "password_weak",
        "/roles/0": "role_invalid",
    }
    assert await people.list_accounts() == []


async def test_a_taken_name_conflicts(app: FastAPI) -> None:
    await make_person(app, "alice", "admin")
    with pytest.raises(Conflict) as caught:
        await make_person(app, "alice", "viewer")
    assert caught.value.code == "username_taken"


async def test_the_last_enabled_admin_cannot_be_removed(app: FastAPI) -> None:
    people = accounts(app).people
    await make_person(app, "alice", "admin")
    await make_person(app, "bob", "editor")
    for change in (
        people.edit("alice", AccountEdit(disabled=True)),
        people.edit("alice", AccountEdit(roles=["editor"])),
        people.delete("alice"),
    ):
        with pytest.raises(Conflict) as caught:
            await change
        assert caught.value.code == "last_admin"
    assert (await people.get("alice")).roles == ["admin"]
    await people.edit("bob", AccountEdit(roles=["admin"]))
    await people.delete("alice")  # another admin remains


async def test_a_server_with_nobody_says_how_to_make_the_first_admin(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    said = [r.getMessage() for r in caplog.get_records("setup") if r.name == "pomona"]
    assert any("`pomona users create NAME --admin`" in line for line in said)
    await make_person(app, "alice", "admin")
    from pomona.accounts.service import first_run_hint

    assert await first_run_hint(accounts(app).people, app.state.services.tokens) is None
