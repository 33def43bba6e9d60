"""OpenID Connect sign-in: ``/api/v1/session/oidc``. The login sends the browser to the
provider; the callback opens the same session (cookie, CSRF token) a password sign-in opens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from starlette.status import HTTP_204_NO_CONTENT, HTTP_303_SEE_OTHER

from pomona.accounts.deps import AccountsDep
from pomona.accounts.oidc_settings import FLOW_COOKIE, FLOW_SECONDS
from pomona.accounts.routes.session import PUBLIC, end_session, secure, set_session_cookie
from pomona.auth.deps import Caller
from pomona.budget_http import api_router, open_query
from pomona.deps import SettingsDep
from pomona.errors import NotFound
from pomona.errors_http import error_responses

if TYPE_CHECKING:
    from pomona.accounts.oidc import OidcClient

api = api_router(prefix="/api/v1/session/oidc", tags=["accounts"])

_FLOW_PATH = "/api/v1/session/oidc"
# The browser lands on the web UI, signed in.
_LANDING = "/ui/"


def _client(accounts: AccountsDep) -> OidcClient:
    if accounts.oidc is None:
        raise NotFound(
            "OpenID Connect sign-in is not configured here (oidc_issuer)",
            code="oidc_not_configured",
        )
    return accounts.oidc


@api.get(
    "/login",
    status_code=HTTP_303_SEE_OTHER,
    response_class=RedirectResponse,
    responses=error_responses(404, 503),
)
async def oidc_login(request: Request, accounts: AccountsDep) -> Response:
    """Start signing in at the OpenID Connect provider: a redirect to it, and a short-lived
    cookie holding this sign-in's state, nonce and PKCE verifier (sealed)."""
    flow = await _client(accounts).begin()
    answer = RedirectResponse(flow.url, status_code=HTTP_303_SEE_OTHER)
    answer.set_cookie(
        FLOW_COOKIE,
        flow.cookie,
        max_age=FLOW_SECONDS,
        path=_FLOW_PATH,
        secure=secure(request),
        httponly=True,
        # Lax: the provider's redirect back is a top-level GET, which Lax cookies go with.
        samesite="lax",
    )
    return answer


@api.get(
    "/callback",
    status_code=HTTP_303_SEE_OTHER,
    response_class=RedirectResponse,
    responses=error_responses(401, 403, 404, 409, 503),
    openapi_extra=PUBLIC,
)
@open_query  # providers add parameters of their own (Google: scope, authuser, hd, prompt)
async def oidc_callback(
    request: Request,
    accounts: AccountsDep,
    settings: SettingsDep,
    code: str | None = None,
    state: str | None = None,
    iss: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
    error_uri: str | None = None,
    session_state: str | None = None,  # Entra ID adds it
) -> Response:
    """Where the provider sends the browser back: the code is exchanged, the ID token checked,
    the account created or brought up to date with the grants its groups give now, and a
    session opened (the session cookie is set; the CSRF token is in `GET /api/v1/session`)."""
    del error_uri, session_state  # sent by some providers, needed by none of the checks
    given = {"code": code, "state": state, "iss": iss, "error": error}
    params = {k: v for k, v in given.items() if v is not None}
    if error_description:
        params["error_description"] = error_description
    person = await _client(accounts).finish(request.cookies.get(FLOW_COOKIE), params)
    opened = await accounts.signin.provider(
        person,
        request.client.host if request.client else None,
        request.headers.get("user-agent"),
    )
    answer = RedirectResponse(_LANDING, status_code=HTTP_303_SEE_OTHER)
    set_session_cookie(answer, request, settings, opened.secret)
    answer.delete_cookie(FLOW_COOKIE, path=_FLOW_PATH, httponly=True, samesite="lax")
    return answer


_LOGOUT_RESPONSES: dict[int | str, dict[str, Any]] = {
    303: {"description": "Ended here; on to the provider's end_session_endpoint."},
    **error_responses(401, 403, 409, 503),
}


@api.post(
    "/logout",
    status_code=HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=_LOGOUT_RESPONSES,
)
async def oidc_logout(request: Request, accounts: AccountsDep, caller: Caller) -> Response:
    """Sign out here, then at the provider: the session ends and its cookie is cleared, and when
    the provider has an `end_session_endpoint` the answer is a 303 to it (else 204)."""
    where = await accounts.oidc.end_session_url() if accounts.oidc is not None else None
    answer = (
        RedirectResponse(where, status_code=HTTP_303_SEE_OTHER)
        if where
        else Response(status_code=HTTP_204_NO_CONTENT)
    )
    return await end_session(request, accounts, caller, answer)
