"""HTTP routes of the audit domain: read the log. Parse, call, answer."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel, BeforeValidator

from pomona.audit.deps import Audit
from pomona.auth.deps import require
from pomona.auth.scopes import Principal
from pomona.budget_http import api_router
from pomona.deps import SettingsDep
from pomona.errors_http import error_responses
from pomona.times import format_time


class AuditEventOut(BaseModel):
    id: int
    at: str
    actor: str
    tokenName: str | None
    client: str | None
    via: str | None
    action: str
    target: str
    detail: str | None
    requestId: str | None = None


class AuditListOut(BaseModel):
    items: list[AuditEventOut]
    total: int
    page: int
    perPage: int


def _iso_8601(value: object) -> object:
    """Pydantic reads a bare number as seconds since 1970; the document promises ISO-8601."""
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        raise ValueError("use ISO-8601, such as 2024-05-01T12:00:00Z")
    return value


_NUMBER = re.compile(r"[-+]?[0-9]*\.?[0-9]+(e[-+]?[0-9]+)?", re.I)
Moment = Annotated[datetime, BeforeValidator(_iso_8601)]


api = api_router(prefix="/api/v1/audit", tags=["audit"])


@api.get("", response_model=AuditListOut, responses=error_responses(401, 403, 422))
async def list_events(
    audit: Audit,
    settings: SettingsDep,
    _caller: Annotated[Principal, Depends(require("admin"))],
    actor: Annotated[str | None, Query(description="e.g. token:autopkg", max_length=255)] = None,
    action: Annotated[
        str | None, Query(description="e.g. title.delete, or title.* for a prefix", max_length=64)
    ] = None,
    target: Annotated[
        str | None, Query(description="e.g. title:Firefox, or title:* for a prefix", max_length=255)
    ] = None,
    since: Annotated[Moment | None, Query(description="ISO-8601, inclusive")] = None,
    until: Annotated[Moment | None, Query(description="ISO-8601, inclusive")] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(alias="perPage", ge=1, le=10_000)] = 50,
) -> AuditListOut:
    """Every write across the server, newest first. Needs an ``admin`` token."""
    per_page = min(per_page, settings.page_size_max)
    found = await audit.search(
        actor=actor,
        action=action,
        target=target,
        since=_aware(since),
        until=_aware(until),
        offset=(page - 1) * per_page,
        limit=per_page,
    )
    items = [
        AuditEventOut(
            id=e.pk,
            at=format_time(e.at),
            actor=e.actor,
            tokenName=e.token_name,
            client=e.client,
            via=e.via,
            action=e.action,
            target=e.target,
            detail=e.detail,
            requestId=e.request_id,
        )
        for e in found.items
    ]
    return AuditListOut(items=items, total=found.total, page=page, perPage=per_page)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)  # a time without a zone is read as UTC, as everywhere
