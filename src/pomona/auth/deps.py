"""Typed FastAPI dependencies of the auth domain: who is calling, and what they may do."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from pomona.accounts.tokens import PREFIX as PERSONAL_PREFIX
from pomona.auth.scopes import Principal
from pomona.deps import services
from pomona.errors import Forbidden, Unauthenticated

PRINCIPAL = "pomona.principal"  # the scope key of the request's principal, once found
_PRINCIPAL = PRINCIPAL
SESSION_ID = "pomona.session"  # the public id of the session that authenticated the request
SESSION_CSRF = "pomona.csrf"  # and its CSRF token
SESSION_COOKIE = "pomona_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


async def principal(request: Request) -> Principal:
    """The caller: ``Authorization: Bearer <token>`` (a service token or a person's personal
    token), else the session cookie of a signed-in person, whose unsafe requests must carry the
    session's CSRF token. Found once per request, since the request budget (``budget_http``)
    authenticates before FastAPI resolves dependencies."""
    known = request.scope.get(_PRINCIPAL)
    if isinstance(known, Principal):
        return known
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    cookie = request.cookies.get(SESSION_COOKIE)
    if scheme.lower() == "bearer" and secret.strip():
        found = await _bearer(request, secret.strip())
    elif cookie and not header:
        found = await _session(request, cookie)
    else:
        raise Unauthenticated(
            "send a token: Authorization: Bearer <token> (create one with `pomona token create`), "
            "or sign in (POST /api/v1/session)",
            "/authorization",
            "header",
            code="token_missing",
        )
    request.scope[_PRINCIPAL] = found
    return found


async def _bearer(request: Request, secret: str) -> Principal:
    found = services(request)
    if secret.startswith(PERSONAL_PREFIX):
        caller = await found.accounts.tokens.authenticate(secret)
        why = (
            "the personal token is unknown, deleted or expired, or its owner is disabled or no "
            "longer holds its rights; create a new one (POST /api/v1/users/me/tokens)"
        )
    else:
        caller = await found.tokens.authenticate(secret)
        why = (
            "the token is unknown, revoked or expired; create a new one on the server with "
            "`pomona token create`"
        )
    if caller is None:
        raise Unauthenticated(why, "/authorization", "header", code="token_unknown")
    return caller


async def _session(request: Request, secret: str) -> Principal:
    found = await services(request).accounts.sessions.resolve(secret)
    if found is None:
        raise Unauthenticated(
            "your session has ended (signed out, expired or revoked); sign in again",
            f"/{SESSION_COOKIE}",
            "header",
            code="session_expired",
        )
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER)
        if not sent:
            raise Forbidden(
                f"a request authenticated by the session cookie must send the session's CSRF "
                f"token in the {CSRF_HEADER} header (GET /api/v1/session shows it)",
                f"/{CSRF_HEADER}",
                "header",
                code="csrf_missing",
            )
        if not hmac.compare_digest(sent.encode(), found.csrf_token.encode()):
            raise Forbidden(
                f"the {CSRF_HEADER} header does not match this session's CSRF token",
                f"/{CSRF_HEADER}",
                "header",
                code="csrf_mismatch",
            )
    request.scope[SESSION_ID] = found.session_id
    request.scope[SESSION_CSRF] = found.csrf_token
    return found.principal


Caller = Annotated[Principal, Depends(principal)]

# The dependencies that authenticate: the request budget runs them before a body is read.
_GATES: set[Callable[..., Any]] = {principal}


@functools.cache
def require(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that admits tokens carrying ``scope`` (or ``admin``); one per scope."""

    async def dependency(request: Request) -> Principal:
        caller = await principal(request)
        if not caller.allows(scope):
            raise Forbidden(
                f"this needs a token with the '{scope}' scope; create one on the server with "
                f"`pomona token create --name NAME --scope {scope}`",
                "/authorization",
                "header",
                code="scope_missing",
            )
        return caller

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    _GATES.add(dependency)
    return dependency


def is_gate(call: Callable[..., Any]) -> bool:
    """Whether a dependency authenticates the caller: the request budget runs these before a
    body is read."""
    return call in _GATES
