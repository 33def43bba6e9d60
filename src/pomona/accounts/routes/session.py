"""Sign-in, who am I, sign-out: ``/api/v1/session``. The session lives in a cookie that is
``HttpOnly``, ``SameSite=Lax`` and ``Secure`` unless the request came over plain HTTP from this
machine (a browser on the server itself, during set-up)."""

from __future__ import annotations

import ipaddress
from typing import Any

from fastapi import Request, Response
from starlette.status import HTTP_204_NO_CONTENT

from pomona.accounts.deps import AccountsDep
from pomona.accounts.routes.schemas import SignInIn, WhoAmIOut, user_out
from pomona.accounts.signin import Attempt
from pomona.audit.deps import who
from pomona.auth.deps import SESSION_COOKIE, SESSION_CSRF, SESSION_ID, Caller
from pomona.auth.scopes import Principal
from pomona.budget_http import api_router
from pomona.deps import SettingsDep
from pomona.errors import Conflict
from pomona.errors_http import error_responses
from pomona.settings import Settings

# Signing in needs no credentials: its 401 is a refused password, not a missing token.
PUBLIC: dict[str, Any] = {"security": [{}]}

api = api_router(prefix="/api/v1/session", tags=["accounts"])


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def secure(request: Request) -> bool:
    """Whether a cookie set in answer to ``request`` is ``Secure``."""
    return not (request.url.scheme == "http" and _loopback(request))


def set_session_cookie(
    response: Response, request: Request, settings: Settings, secret: str
) -> None:
    """The session cookie, the same for every way of signing in."""
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(settings.session_max_hours * 3600),
        path="/",
        secure=secure(request),
        httponly=True,
        samesite="lax",
    )


async def _whoami(accounts: AccountsDep, caller: Principal, csrf: str | None) -> WhoAmIOut:
    user = await accounts.people.get(caller.user) if caller.user else None
    return WhoAmIOut(
        name=caller.name,
        user=user_out(user) if user else None,
        via=caller.via,
        scopes=sorted(caller.scopes),
        titles=sorted(caller.titles) if caller.titles is not None else None,
        namespaces=sorted(caller.namespaces) if caller.namespaces is not None else None,
        csrfToken=csrf,
    )


@api.post(
    "",
    response_model=WhoAmIOut,
    responses=error_responses(400, 401, 403, 413, 422, 429),
    openapi_extra=PUBLIC,
)
async def sign_in(
    body: SignInIn,
    request: Request,
    response: Response,
    accounts: AccountsDep,
    settings: SettingsDep,
) -> WhoAmIOut:
    """Sign in with a username and password (and the second factor's code, when one is in
    force). Sets the session cookie; the answer carries the CSRF token to send with every
    unsafe request."""
    opened = await accounts.signin(
        Attempt(
            body.username,
            body.password,
            body.code,
            request.client.host if request.client else None,
            request.headers.get("user-agent"),
        )
    )
    set_session_cookie(response, request, settings, opened.secret)
    caller = await accounts.sessions.resolve(opened.secret)
    assert caller is not None, "a session just opened resolves"
    return await _whoami(accounts, caller.principal, opened.csrf_token)


@api.get("", response_model=WhoAmIOut, responses=error_responses(401, 403))
async def whoami(request: Request, accounts: AccountsDep, caller: Caller) -> WhoAmIOut:
    """Who is calling: the person and their rights, and the session's CSRF token when the
    session cookie authenticated the request."""
    csrf = request.scope.get(SESSION_CSRF)
    return await _whoami(accounts, caller, csrf if isinstance(csrf, str) else None)


@api.delete(
    "",
    status_code=HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 403, 409),
)
async def sign_out(request: Request, accounts: AccountsDep, caller: Caller) -> Response:
    """Sign out: the session ends on the server and the cookie is cleared."""
    return await end_session(request, accounts, caller, Response(status_code=HTTP_204_NO_CONTENT))


async def end_session(
    request: Request, accounts: AccountsDep, caller: Principal, answer: Response
) -> Response:
    """End the session that authenticated ``request`` and clear its cookie on ``answer``."""
    secret = request.cookies.get(SESSION_COOKIE)
    if request.scope.get(SESSION_ID) is None or secret is None:
        raise Conflict(
            "there is no session to end: this request was authenticated by a token",
            "/authorization",
            "header",
            code="no_session",
        )
    await accounts.sessions.sign_out(secret, who=who(request, caller))
    answer.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return answer
