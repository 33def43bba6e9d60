"""Typed FastAPI dependencies of the titles domain: the service, who may read or write, and
who a write is by."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from pomona.auth.deps import require
from pomona.auth.scopes import Principal
from pomona.deps import ServicesDep
from pomona.titles.services import TitleService
from pomona.titles.values import Actor


def title_service(found: ServicesDep) -> TitleService:
    return found.titles


Titles = Annotated[TitleService, Depends(title_service)]
# One dependency each, shared by every route, so a route asking for both the caller and the
# author of a write authenticates once.
Reader = Annotated[Principal, Depends(require("titles:read"))]
Writer = Annotated[Principal, Depends(require("titles:write"))]
Reason = Annotated[
    str | None, Query(description="Why; kept in the title's history", max_length=2000)
]


def actor_of(request: Request, caller: Principal, reason: str | None = None) -> Actor:
    """The author of a write as the title's history and the audit log name it."""
    client = request.client.host if request.client else None
    return Actor(caller.name, reason, client, caller.namespaces, caller.via)


def author(request: Request, caller: Writer, reason: Reason = None) -> Actor:
    return actor_of(request, caller, reason)


Author = Annotated[Actor, Depends(author)]
