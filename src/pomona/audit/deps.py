"""Typed FastAPI dependencies of the audit domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from pomona.audit.service import AuditService, Who
from pomona.auth.scopes import Principal
from pomona.deps import ServicesDep


def audit_service(found: ServicesDep) -> AuditService:
    return found.audit


Audit = Annotated[AuditService, Depends(audit_service)]


def who(request: Request, caller: Principal) -> Who:
    """The caller of a write as the audit log names it: principal, token, client address and,
    for a person, how they signed in."""
    return Who.of(caller.name, request.client.host if request.client else None, caller.via)
