"""Typed FastAPI dependencies of the accounts domain: its services, and the signed-in person."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from pomona.accounts.service import Accounts
from pomona.audit.deps import who
from pomona.audit.service import Who
from pomona.auth.deps import Caller, require
from pomona.auth.scopes import Principal
from pomona.deps import ServicesDep
from pomona.errors import Forbidden


def accounts_service(found: ServicesDep) -> Accounts:
    return found.accounts


AccountsDep = Annotated[Accounts, Depends(accounts_service)]
Admin = Annotated[Principal, Depends(require("admin"))]


async def person(caller: Caller) -> Principal:
    """The caller, who must be a person (signed in, or with a personal token)."""
    if caller.user is None:
        raise Forbidden(
            "this is about your own account: sign in, or use a personal token "
            "(a service token belongs to nobody)",
            "/authorization",
            "header",
            code="person_required",
        )
    return caller


Person = Annotated[Principal, Depends(person)]


def admin_who(request: Request, caller: Admin) -> Who:
    return who(request, caller)


def person_who(request: Request, caller: Person) -> Who:
    return who(request, caller)


AdminWho = Annotated[Who, Depends(admin_who)]
PersonWho = Annotated[Who, Depends(person_who)]
