"""HTTP routes of webhook endpoints: create, list, read, edit, delete, rotate the secret, and
the delivery log with replay. Admin only. Parse, call, answer."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query, Request, Response
from pydantic import BaseModel, Field

from pomona.audit.deps import who
from pomona.budget_http import api_router
from pomona.deps import SettingsDep
from pomona.errors_http import error_responses
from pomona.events.delivery_log import DeliveryRecord
from pomona.events.deps import Admin, WebhooksDep
from pomona.events.endpoints import (
    DESCRIPTION_MAX,
    URL_MAX,
    EndpointEdit,
    EndpointSpec,
    event_types_of,
)
from pomona.events.models import WebhookEndpoint
from pomona.times import format_time

Kind = Literal["signed", "slack", "teams", "patchserver"]
DeliveryIdParam = Annotated[int, Path(ge=1, le=2**53)]
EndpointIdParam = Annotated[
    str, Path(min_length=1, max_length=40, description="`ep_...` or its number")
]


class EndpointOut(BaseModel):
    id: str
    number: int = Field(description="The endpoint's number (PatchServer's scripts use it)")
    url: str
    kind: Kind
    eventTypes: list[str]
    namespace: str | None
    enabled: bool
    description: str
    sendDefinition: bool
    failingSince: str | None = Field(description="Since when every attempt has failed")
    disabledReason: str | None = Field(description="Why the server disabled it, if it did")
    previousSecretUntil: str | None = Field(
        description="After a rotation: until when the old secret still signs"
    )
    createdAt: str
    updatedAt: str


class EndpointSecretOut(EndpointOut):
    secret: str = Field(description="The signing secret (`whsec_...`): shown this once")


class EndpointListOut(BaseModel):
    items: list[EndpointOut]


class EndpointIn(BaseModel):
    url: str = Field(max_length=URL_MAX)
    kind: Kind = "signed"
    eventTypes: list[str] = Field(["*"], description="Types or patterns such as `title.*`")
    namespace: str | None = Field(None, max_length=64, description="Only this namespace's events")
    enabled: bool = True
    description: str = Field("", max_length=DESCRIPTION_MAX)
    sendDefinition: bool = Field(
        False, description="`patchserver` kind: send the definition with `new_title`"
    )


class EndpointEditIn(BaseModel):
    url: str | None = Field(None, max_length=URL_MAX)
    eventTypes: list[str] | None = None
    namespace: str | None = Field(None, max_length=64, description='"" removes the filter')
    enabled: bool | None = None
    description: str | None = Field(None, max_length=DESCRIPTION_MAX)


class AttemptOut(BaseModel):
    at: str
    status: int | None = Field(description="The answer's status; None when none came")
    durationMs: int
    answer: str | None = Field(description="The answer's first kilobyte")
    error: str | None


class DeliveryOut(BaseModel):
    id: int
    eventId: str
    eventType: str
    state: Literal["pending", "delivered", "failed"]
    tries: int = Field(description="Attempts in the current round of the retry schedule")
    dueAt: str | None = Field(description="When the next attempt is due (pending only)")
    deliveredAt: str | None
    lastStatus: int | None
    attempts: list[AttemptOut]


class DeliveryListOut(BaseModel):
    items: list[DeliveryOut]
    next: int | None = Field(description="The `before` of the next page; None on the last page")


def spec_of(body: EndpointIn) -> EndpointSpec:
    """The endpoint a create asks for (the API's body, or the web UI's form read by it)."""
    return EndpointSpec(
        url=body.url,
        kind=body.kind,
        event_types=body.eventTypes,
        namespace=body.namespace,
        enabled=body.enabled,
        description=body.description,
        send_definition=body.sendDefinition,
    )


def edit_of(body: EndpointEditIn) -> EndpointEdit:
    return EndpointEdit(
        url=body.url,
        event_types=body.eventTypes,
        namespace=body.namespace,
        enabled=body.enabled,
        description=body.description,
    )


def endpoint_out(row: WebhookEndpoint) -> EndpointOut:
    return EndpointOut(
        id=row.endpoint_id,
        number=row.pk,
        url=row.url,
        kind=row.kind,
        eventTypes=event_types_of(row),
        namespace=row.namespace,
        enabled=row.enabled,
        description=row.description,
        sendDefinition=row.send_definition,
        failingSince=format_time(row.failing_since) if row.failing_since else None,
        disabledReason=row.disabled_reason,
        previousSecretUntil=format_time(row.previous_until) if row.previous_until else None,
        createdAt=format_time(row.created_at),
        updatedAt=format_time(row.updated_at),
    )


def _with_secret(row: WebhookEndpoint, secret: str) -> EndpointSecretOut:
    return EndpointSecretOut(**endpoint_out(row).model_dump(), secret=secret)


def delivery_out(found: DeliveryRecord) -> DeliveryOut:
    d = found.delivery
    return DeliveryOut(
        id=d.pk,
        eventId=found.event_id,
        eventType=found.event_type,
        state=d.state,
        tries=d.tries,
        dueAt=format_time(d.due_at) if d.state == "pending" else None,
        deliveredAt=format_time(d.delivered_at) if d.delivered_at else None,
        lastStatus=d.last_status,
        attempts=[
            AttemptOut(
                at=format_time(a.at),
                status=a.status,
                durationMs=a.duration_ms,
                answer=a.answer,
                error=a.error,
            )
            for a in found.attempts
        ],
    )


api = api_router(prefix="/api/v1/webhooks/endpoints", tags=["webhooks"])


@api.get("", response_model=EndpointListOut, responses=error_responses(401, 403))
async def list_endpoints(webhooks: WebhooksDep, _caller: Admin) -> EndpointListOut:
    """Every webhook endpoint (secrets are never shown again). Needs ``admin``."""
    return EndpointListOut(items=[endpoint_out(r) for r in await webhooks.endpoints.list()])


@api.post(
    "",
    status_code=201,
    response_model=EndpointSecretOut,
    responses=error_responses(400, 401, 403, 413, 422),
)
async def create_endpoint(
    request: Request, webhooks: WebhooksDep, caller: Admin, body: EndpointIn
) -> EndpointSecretOut:
    """Add an endpoint; the answer holds its signing secret, shown this once. The URL must
    pass the outbound guard (public addresses, or ``fetch_allowed_networks``). Needs ``admin``."""
    row, secret = await webhooks.endpoints.create(spec_of(body), who(request, caller))
    return _with_secret(row, secret)


@api.get(
    "/{endpoint_id}", response_model=EndpointOut, responses=error_responses(401, 403, 404, 422)
)
async def get_endpoint(
    webhooks: WebhooksDep, _caller: Admin, endpoint_id: EndpointIdParam
) -> EndpointOut:
    """One endpoint. Needs ``admin``."""
    return endpoint_out(await webhooks.endpoints.get(endpoint_id))


@api.patch(
    "/{endpoint_id}",
    response_model=EndpointOut,
    responses=error_responses(400, 401, 403, 404, 413, 422),
)
async def edit_endpoint(
    request: Request,
    webhooks: WebhooksDep,
    caller: Admin,
    endpoint_id: EndpointIdParam,
    body: EndpointEditIn,
) -> EndpointOut:
    """Change the URL, filters, description, or enable it again (which clears its failures).
    Needs ``admin``."""
    edit = edit_of(body)
    return endpoint_out(await webhooks.endpoints.update(endpoint_id, edit, who(request, caller)))


@api.delete("/{endpoint_id}", status_code=204, responses=error_responses(401, 403, 404, 422))
async def delete_endpoint(
    request: Request, webhooks: WebhooksDep, caller: Admin, endpoint_id: EndpointIdParam
) -> Response:
    """Remove the endpoint and its delivery log. Needs ``admin``."""
    await webhooks.endpoints.delete(endpoint_id, who(request, caller))
    return Response(status_code=204)


@api.post(
    "/{endpoint_id}/rotate",
    response_model=EndpointSecretOut,
    responses=error_responses(401, 403, 404, 422),
)
async def rotate_secret(
    request: Request,
    webhooks: WebhooksDep,
    caller: Admin,
    endpoint_id: EndpointIdParam,
) -> EndpointSecretOut:
    """A new signing secret, shown this once. The old one keeps signing beside it for
    ``webhook_secret_overlap_hours``. Needs ``admin``."""
    row, secret = await webhooks.endpoints.rotate(endpoint_id, who(request, caller))
    return _with_secret(row, secret)


@api.get(
    "/{endpoint_id}/deliveries",
    response_model=DeliveryListOut,
    responses=error_responses(401, 403, 404, 422),
)
async def list_deliveries(
    webhooks: WebhooksDep,
    settings: SettingsDep,
    _caller: Admin,
    endpoint_id: EndpointIdParam,
    state: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
    before: Annotated[int | None, Query(ge=1, le=2**53, description="The cursor")] = None,
    per_page: Annotated[int, Query(alias="perPage", ge=1, le=10_000)] = 50,
) -> DeliveryListOut:
    """The endpoint's deliveries, newest first, each with every attempt. Needs ``admin``."""
    endpoint = await webhooks.endpoints.get(endpoint_id)
    per_page = min(per_page, settings.page_size_max)
    found = await webhooks.log.page(endpoint, state=state, before=before, limit=per_page)
    return DeliveryListOut(items=[delivery_out(d) for d in found.items], next=found.next_cursor)


@api.post(
    "/{endpoint_id}/deliveries/{delivery_id}/replay",
    status_code=202,
    response_class=Response,
    responses={
        202: {"description": "Queued to be sent again"},
        **error_responses(401, 403, 404, 422),
    },
)
async def replay_delivery(
    request: Request,
    webhooks: WebhooksDep,
    caller: Admin,
    endpoint_id: EndpointIdParam,
    delivery_id: DeliveryIdParam,
) -> Response:
    """Send the delivery again now, from the start of the retry schedule. Needs ``admin``."""
    await webhooks.replay(endpoint_id, delivery_id, who(request, caller))
    return Response(status_code=202)
