"""HTTP routes of the inbound domain: Jamf Pro posts webhooks to ``/hooks/jamf/{source}``;
admins manage the sources and read what they sent under ``/api/v1/inbound``."""

from __future__ import annotations

import json
from typing import Annotated, Any

from anyio import to_thread
from fastapi import Path, Query, Request, Response
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from pomona.accounts.deps import AdminWho
from pomona.budget_http import api_router
from pomona.deps import ServicesDep, SettingsDep
from pomona.errors_http import error_responses
from pomona.inbound.credentials import header_names
from pomona.inbound.deps import Inbound
from pomona.inbound.models import InboundDelivery, InboundSource
from pomona.inbound.payloads import iso
from pomona.inbound.schemas import (
    DeliveriesOut,
    DeliveryOut,
    ReceivedOut,
    RuleOut,
    SourceEdit,
    SourceIn,
    SourceOut,
    SourcesOut,
)
from pomona.inbound.sources import rules_of
from pomona.times import format_time

SourceName = Annotated[str, Path(min_length=1, max_length=64)]

hooks = api_router(tags=["jamf webhooks"])
api = api_router(prefix="/api/v1/inbound/sources", tags=["jamf webhooks"])

_BODY = {
    "requestBody": {
        "required": True,
        "description": "The webhook as Jamf Pro sends it: JSON, or `<JSSEvent>` XML.",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/xml": {"schema": {"type": "string"}},
        },
    },
    # The source's own credentials (Basic, or the header map set in Jamf Pro), or none.
    "security": [{}],
}


@hooks.post(
    "/hooks/jamf/{source}",
    response_model=ReceivedOut,
    responses=error_responses(400, 401, 404, 408, 413),
    openapi_extra=_BODY,
)
async def receive_webhook(
    source: SourceName, request: Request, inbound: Inbound, services: ServicesDep
) -> ReceivedOut:
    """Where Jamf Pro posts a webhook (Settings > Global > Webhooks). The source's
    credentials are checked before the body is read; the webhook is stored and answered at
    once, and its work queued."""
    found = await inbound.authenticate(source, request.headers)
    body = await request.body()
    client = request.client.host if request.client else None
    delivery, event_id = await inbound.receive(
        found, body, request.headers.get("content-type"), client
    )
    # Enqueueing writes to the queue's store: off the event loop. A webhook stored but not
    # queued (the queue away) is picked up by the periodic sweep.
    await to_thread.run_sync(services.tasks.inbound_process, delivery.pk)
    return ReceivedOut(delivery=delivery.pk, webhookEvent=delivery.webhook_event, eventId=event_id)


def _source_out(source: InboundSource) -> SourceOut:
    return SourceOut(
        name=source.name,
        url=f"/hooks/jamf/{source.name}",
        auth=source.auth,
        allowUnauthenticated=source.allow_unauthenticated,
        username=source.username,
        headerNames=header_names(source.headers),
        rules=[RuleOut(on=r.on, action=r.action) for r in rules_of(source)],
        enabled=source.enabled,
        createdAt=format_time(source.created_at),
        updatedAt=format_time(source.updated_at),
        lastReceivedAt=format_time(source.last_received_at) if source.last_received_at else None,
    )


def _delivery_out(row: InboundDelivery) -> DeliveryOut:
    outcome: dict[str, Any] | None = json.loads(row.outcome) if row.outcome else None
    return DeliveryOut(
        id=row.pk,
        receivedAt=format_time(row.received_at),
        webhookEvent=row.webhook_event,
        webhookId=row.webhook_id,
        webhookName=row.webhook_name,
        eventTimestamp=iso(row.event_timestamp),
        contentType=row.content_type,
        status=row.status,
        processedAt=format_time(row.processed_at) if row.processed_at else None,
        outcome=outcome,
        eventId=row.event_id,
        client=row.client,
        body=row.body,
    )


@api.get("", response_model=SourcesOut, responses=error_responses(401, 403))
async def list_sources(inbound: Inbound, _by: AdminWho) -> SourcesOut:
    """Every inbound source (admin)."""
    return SourcesOut(items=[_source_out(s) for s in await inbound.sources.list_all()])


@api.post(
    "",
    response_model=SourceOut,
    status_code=HTTP_201_CREATED,
    responses=error_responses(401, 403, 409, 422),
)
async def create_source(body: SourceIn, inbound: Inbound, by: AdminWho) -> SourceOut:
    """Add a source (admin): give Jamf Pro its URL and the same credentials."""
    return _source_out(await inbound.sources.create(body, by))


@api.get("/{name}", response_model=SourceOut, responses=error_responses(401, 403, 404))
async def show_source(name: SourceName, inbound: Inbound, _by: AdminWho) -> SourceOut:
    return _source_out(await inbound.sources.get(name))


@api.patch("/{name}", response_model=SourceOut, responses=error_responses(401, 403, 404, 422))
async def edit_source(
    name: SourceName, body: SourceEdit, inbound: Inbound, by: AdminWho
) -> SourceOut:
    """Change a source's authentication, rules or state (admin); secrets are never shown."""
    return _source_out(await inbound.sources.edit(name, body, by))


@api.delete(
    "/{name}",
    status_code=HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 403, 404),
)
async def delete_source(name: SourceName, inbound: Inbound, by: AdminWho) -> Response:
    """Remove a source and the webhooks it sent (admin); their events stay in the log."""
    await inbound.sources.delete(name, by)
    return Response(status_code=HTTP_204_NO_CONTENT)


@api.get(
    "/{name}/events", response_model=DeliveriesOut, responses=error_responses(401, 403, 404, 422)
)
async def list_deliveries(
    name: SourceName,
    inbound: Inbound,
    settings: SettingsDep,
    _by: AdminWho,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(alias="perPage", ge=1, le=10_000)] = 50,
) -> DeliveriesOut:
    """The webhooks a source sent, newest first, as received and what became of each."""
    per_page = min(per_page, settings.page_size_max)
    found = await inbound.deliveries(name, offset=(page - 1) * per_page, limit=per_page)
    return DeliveriesOut(
        items=[_delivery_out(d) for d in found.items],
        total=found.total,
        page=page,
        perPage=per_page,
    )


ROUTERS = (hooks, api)
