"""Typed FastAPI dependencies of the auth domain: who is calling, and what they may do."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from pomona.auth.scopes import Principal
from pomona.deps import services
from pomona.errors import Forbidden, Unauthenticated

_PRINCIPAL = "pomona.principal"


async def principal(request: Request) -> Principal:
    """The caller, from ``Authorization: Bearer <token>``; found once per request, since the
    request budget (``budget_http``) authenticates before FastAPI resolves dependencies."""
    known = request.scope.get(_PRINCIPAL)
    if isinstance(known, Principal):
        return known
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated(
            "send a token: Authorization: Bearer <token> (create one with `pomona token create`)",
            "/authorization",
            "header",
            code="token_missing",
        )
    found = await services(request).tokens.authenticate(secret.strip())
    if found is None:
        raise Unauthenticated(
            "the token is unknown, revoked or expired; create a new one on the server with "
            "`pomona token create`",
            "/authorization",
            "header",
            code="token_unknown",
        )
    request.scope[_PRINCIPAL] = found
    return found


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
