"""A person's own account: ``/api/v1/users/me/...``: password, second factor, personal tokens."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

from fastapi import Path, Request, Response
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from pomona.accounts.deps import AccountsDep, Person, PersonWho
from pomona.accounts.routes.schemas import (
    NewTokenOut,
    PasswordChangeIn,
    RecoveryCodesOut,
    TokenIn,
    TokensOut,
    TotpCodeIn,
    TotpEnrolOut,
    token_out,
)
from pomona.auth.deps import SESSION_ID
from pomona.budget_http import api_router
from pomona.errors import Invalid
from pomona.errors_http import error_responses

api = api_router(prefix="/api/v1/users/me", tags=["accounts"])

TokenName = Annotated[str, Path(min_length=1, max_length=255)]


def _user(caller: Person) -> str:
    assert caller.user is not None
    return caller.user


@api.put(
    "/password",
    status_code=HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(400, 401, 403, 409, 413, 422),
)
async def change_password(
    body: PasswordChangeIn, request: Request, accounts: AccountsDep, caller: Person, by: PersonWho
) -> Response:
    """Change your own password with the old one; your other sessions end."""
    current = request.scope.get(SESSION_ID)
    await accounts.people.change_password(
        _user(caller),
        body.oldPassword,
        body.newPassword,
        keep_session=current if isinstance(current, str) else None,
        who=by,
    )
    return Response(status_code=HTTP_204_NO_CONTENT)


@api.post("/totp", response_model=TotpEnrolOut, responses=error_responses(401, 403, 409))
async def enrol_totp(accounts: AccountsDep, caller: Person, by: PersonWho) -> TotpEnrolOut:
    """Start enrolling a second factor: scan the URI, then confirm with one code."""
    found = await accounts.second_factor.enrol(_user(caller), who=by)
    return TotpEnrolOut(uri=found.uri, secret=found.secret)


@api.post(
    "/totp/confirm",
    response_model=RecoveryCodesOut,
    responses=error_responses(400, 401, 403, 409, 413, 422),
)
async def confirm_totp(
    body: TotpCodeIn, accounts: AccountsDep, caller: Person, by: PersonWho
) -> RecoveryCodesOut:
    """Put the second factor in force with one valid code; answers the recovery codes."""
    codes = await accounts.second_factor.confirm(_user(caller), body.code, who=by)
    return RecoveryCodesOut(recoveryCodes=codes)


@api.post(
    "/totp/disable",
    status_code=HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(400, 401, 403, 413, 422),
)
async def disable_totp(
    body: TotpCodeIn, accounts: AccountsDep, caller: Person, by: PersonWho
) -> Response:
    """Remove your second factor; it takes a current code (or a recovery code)."""
    if not await accounts.second_factor.check(_user(caller), body.code):
        raise Invalid("the code is wrong or was used already", "/code", code="totp_invalid")
    await accounts.second_factor.disable(_user(caller), who=by)
    return Response(status_code=HTTP_204_NO_CONTENT)


@api.get("/tokens", response_model=TokensOut, responses=error_responses(401, 403))
async def list_tokens(accounts: AccountsDep, caller: Person) -> TokensOut:
    return TokensOut(items=[token_out(t) for t in await accounts.tokens.list_for(_user(caller))])


@api.post(
    "/tokens",
    response_model=NewTokenOut,
    status_code=HTTP_201_CREATED,
    responses=error_responses(400, 401, 403, 409, 413, 422),
)
async def create_token(
    body: TokenIn, accounts: AccountsDep, caller: Person, by: PersonWho
) -> NewTokenOut:
    """A personal token with some of your rights (never more) until ``expiresAt``. It stops
    working when you are disabled or lose a right it carries."""
    info, secret = await accounts.tokens.create(
        caller,
        body.name,
        body.scopes,
        titles=body.titles,
        # A time without a zone is read as UTC, as everywhere in the API.
        expires_at=body.expiresAt if body.expiresAt.tzinfo else body.expiresAt.replace(tzinfo=UTC),
        who=by,
    )
    return NewTokenOut(**token_out(info).model_dump(), token=secret)


@api.delete(
    "/tokens/{token}",
    status_code=HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 403, 404),
)
async def delete_token(
    token: TokenName, accounts: AccountsDep, caller: Person, by: PersonWho
) -> Response:
    await accounts.tokens.delete(_user(caller), token, who=by)
    return Response(status_code=HTTP_204_NO_CONTENT)
