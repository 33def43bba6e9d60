"""People, for admins: ``/api/v1/users``, ``/api/v1/users/{name}`` and their sessions."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from pomona.accounts.deps import AccountsDep, Admin, AdminWho
from pomona.accounts.routes.schemas import (
    PasswordResetIn,
    RevokedOut,
    SessionsOut,
    UserIn,
    UserOut,
    UserPatch,
    session_out,
    user_out,
)
from pomona.accounts.values import AccountEdit
from pomona.budget_http import api_router
from pomona.errors_http import error_responses

api = api_router(prefix="/api/v1/users", tags=["accounts"])

Name = Annotated[str, Path(min_length=1, max_length=255, description="The username")]


@api.get("", response_model=list[UserOut], responses=error_responses(401, 403))
async def list_users(accounts: AccountsDep, _caller: Admin) -> list[UserOut]:
    """Every account. Admin only."""
    return [user_out(info) for info in await accounts.people.list_accounts()]


@api.post(
    "",
    response_model=UserOut,
    status_code=HTTP_201_CREATED,
    responses=error_responses(400, 401, 403, 409, 413, 422),
)
async def create_user(body: UserIn, accounts: AccountsDep, by: AdminWho) -> UserOut:
    """A local account. Without a password nobody can sign in as it until an admin sets one
    (or, with a directory configured, the directory accepts the person)."""
    info = await accounts.people.create(
        body.username,
        body.password,
        display_name=body.displayName,
        email=body.email,
        roles_=body.roles,
        who=by,
    )
    return user_out(info)


@api.get("/{name}", response_model=UserOut, responses=error_responses(401, 403, 404))
async def get_user(name: Name, accounts: AccountsDep, _caller: Admin) -> UserOut:
    return user_out(await accounts.people.get(name))


@api.patch(
    "/{name}", response_model=UserOut, responses=error_responses(400, 401, 403, 404, 409, 413, 422)
)
async def edit_user(name: Name, body: UserPatch, accounts: AccountsDep, by: AdminWho) -> UserOut:
    """Change the display name, email, roles, or disable the account (which ends its
    sessions and stops its personal tokens)."""
    edit = AccountEdit(body.displayName, body.email, body.disabled, body.roles)
    return user_out(await accounts.people.edit(name, edit, who=by))


@api.delete(
    "/{name}",
    status_code=HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 403, 404, 409),
)
async def delete_user(name: Name, accounts: AccountsDep, by: AdminWho) -> Response:
    await accounts.people.delete(name, who=by)
    return Response(status_code=HTTP_204_NO_CONTENT)


@api.post(
    "/{name}/password",
    status_code=HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422),
)
async def reset_password(
    name: Name, body: PasswordResetIn, accounts: AccountsDep, by: AdminWho
) -> Response:
    """Set a new password: the person's sessions end and any lockout is lifted."""
    await accounts.people.reset_password(name, body.password, who=by)
    return Response(status_code=HTTP_204_NO_CONTENT)


@api.delete(
    "/{name}/totp",
    status_code=HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 403, 404),
)
async def remove_totp(name: Name, accounts: AccountsDep, by: AdminWho) -> Response:
    """Remove a person's second factor (a lost phone); they may enrol again."""
    await accounts.second_factor.disable(name, who=by)
    return Response(status_code=HTTP_204_NO_CONTENT)


@api.get("/{name}/sessions", response_model=SessionsOut, responses=error_responses(401, 403, 404))
async def list_sessions(name: Name, accounts: AccountsDep, _caller: Admin) -> SessionsOut:
    return SessionsOut(items=[session_out(s) for s in await accounts.sessions.list_for(name)])


@api.delete("/{name}/sessions", response_model=RevokedOut, responses=error_responses(401, 403, 404))
async def revoke_sessions(name: Name, accounts: AccountsDep, by: AdminWho) -> RevokedOut:
    """End every session of the person at once."""
    return RevokedOut(revoked=await accounts.sessions.revoke_all(name, who=by))
