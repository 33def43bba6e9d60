"""People: accounts and their roles (admins), and each person's own personal tokens. The
forms are checked by the API's body models and written by the accounts services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Form, Request, Response

from pomona.accounts.deps import AccountsDep, Admin, AdminWho, Person, PersonWho
from pomona.accounts.roles import ROLES
from pomona.accounts.routes.schemas import TokenIn, UserIn, UserPatch
from pomona.accounts.values import AccountEdit
from pomona.auth.scopes import SCOPES
from pomona.ui.pages_http import PREFIX, parse, redirect, render, ui_router

router = ui_router(prefix=PREFIX)
Text = Annotated[str, Form(max_length=1000)]


@router.get("/users")
async def users(request: Request, accounts: AccountsDep, caller: Admin) -> Response:
    found = await accounts.people.list_accounts()
    return render(request, "people/users.html", caller=caller, users=found, roles=ROLES)


@router.post("/users")
async def create_user(
    request: Request,
    accounts: AccountsDep,
    by: AdminWho,
    username: Text,
    password: Text = "",
    displayName: Text = "",
    email: Text = "",
    roles: Text = "",
) -> Response:
    body = parse(
        UserIn,
        {
            "username": username,
            "password": password or None,
            "displayName": displayName or None,
            "email": email or None,
            "roles": roles.replace(",", " ").split(),
        },
    )
    await accounts.people.create(
        body.username,
        body.password,
        display_name=body.displayName,
        email=body.email,
        roles_=body.roles,
        who=by,
    )
    return redirect(request, f"{PREFIX}/users")


@router.post("/users/{name}")
async def edit_user(
    request: Request,
    accounts: AccountsDep,
    by: AdminWho,
    name: str,
    roles: Text = "",
    disabled: Annotated[bool, Form()] = False,
) -> Response:
    """Roles (space or comma separated role specs, ``publisher@namespace``) and whether the
    account is disabled."""
    body = parse(UserPatch, {"roles": roles.replace(",", " ").split(), "disabled": disabled})
    edit = AccountEdit(body.displayName, body.email, body.disabled, body.roles)
    await accounts.people.edit(name, edit, who=by)
    return redirect(request, f"{PREFIX}/users")


@router.get("/tokens")
async def tokens(request: Request, accounts: AccountsDep, caller: Person) -> Response:
    assert caller.user is not None, "a person"
    found = await accounts.tokens.list_for(caller.user)
    return render(
        request,
        "people/tokens.html",
        caller=caller,
        tokens=found,
        scopes=[s for s in SCOPES if caller.allows(s)],
        secret=None,
    )


@router.post("/tokens")
async def create_token(
    request: Request,
    accounts: AccountsDep,
    caller: Person,
    by: PersonWho,
    name: Text,
    scopes: Annotated[list[str], Form()],
    days: Annotated[int, Form(ge=1, le=366)] = 90,
) -> Response:
    """A personal token with some of the person's rights; its secret is shown once."""
    body = parse(
        TokenIn,
        {"name": name, "scopes": scopes, "expiresAt": datetime.now(UTC) + timedelta(days=days)},
    )
    _info, secret = await accounts.tokens.create(
        caller, body.name, body.scopes, titles=body.titles, expires_at=body.expiresAt, who=by
    )
    assert caller.user is not None, "a person"
    return render(
        request,
        "people/tokens.html",
        201,
        caller=caller,
        tokens=await accounts.tokens.list_for(caller.user),
        scopes=[s for s in SCOPES if caller.allows(s)],
        secret=secret,
    )


@router.post("/tokens/{token}/delete")
async def delete_token(
    request: Request, accounts: AccountsDep, caller: Person, by: PersonWho, token: str
) -> Response:
    assert caller.user is not None, "a person"
    await accounts.tokens.delete(caller.user, token, who=by)
    return redirect(request, f"{PREFIX}/tokens")
