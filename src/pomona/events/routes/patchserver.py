"""PatchServer's ``/api/v1/webhooks``, for its scripts: each webhook is an endpoint of the
``patchserver`` kind, sent PatchServer's own body on ``title.created`` (``new_title``) and
``title.deleted`` (``title_deleted``), now signed, retried and logged like any other. Served
with the rest of PatchServer's API when ``patchserver_compat`` is on. Needs ``admin``."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Path, Request, Response
from pydantic import BaseModel, Field

from pomona.audit.deps import who
from pomona.budget_http import api_router
from pomona.errors_http import error_responses
from pomona.events.deps import Admin, WebhooksDep
from pomona.events.endpoints import URL_MAX, EndpointSpec
from pomona.settings import Settings


class PatchServerWebhookIn(BaseModel):
    url: str = Field(max_length=URL_MAX)
    enabled: bool = True
    send_definition: bool = False


class PatchServerWebhookOut(BaseModel):
    id: int
    url: str
    enabled: bool
    send_definition: bool


class PatchServerCreatedOut(BaseModel):
    id: int


api = api_router(prefix="/api/v1/webhooks", tags=["patchserver"])


@api.get("", response_model=list[PatchServerWebhookOut], responses=error_responses(401, 403))
async def list_patchserver_webhooks(
    webhooks: WebhooksDep, _caller: Admin
) -> list[PatchServerWebhookOut]:
    """PatchServer's webhooks: the endpoints of the ``patchserver`` kind."""
    return [
        PatchServerWebhookOut(
            id=row.pk, url=row.url, enabled=row.enabled, send_definition=row.send_definition
        )
        for row in await webhooks.endpoints.list()
        if row.kind == "patchserver"
    ]


@api.post(
    "",
    status_code=201,
    response_model=PatchServerCreatedOut,
    responses=error_responses(400, 401, 403, 413, 422),
)
async def create_patchserver_webhook(
    request: Request, webhooks: WebhooksDep, caller: Admin, body: PatchServerWebhookIn
) -> PatchServerCreatedOut:
    """Add a webhook as PatchServer did; it is an endpoint in ``/api/v1/webhooks/endpoints``."""
    spec = EndpointSpec(
        url=body.url,
        kind="patchserver",
        enabled=body.enabled,
        description="added through PatchServer's API",
        send_definition=body.send_definition,
    )
    row, _secret = await webhooks.endpoints.create(spec, who(request, caller))
    return PatchServerCreatedOut(id=row.pk)


@api.delete("/{webhook_id:int}", status_code=204, responses=error_responses(401, 403, 404, 422))
async def delete_patchserver_webhook(
    request: Request,
    webhooks: WebhooksDep,
    caller: Admin,
    webhook_id: Annotated[int, Path(ge=1, le=999_999_999)],
) -> Response:
    """Remove a webhook by PatchServer's id (the endpoint's number)."""
    await webhooks.endpoints.delete(str(webhook_id), who(request, caller))
    return Response(status_code=204)


def install(app: FastAPI, settings: Settings) -> None:
    if settings.patchserver_compat:
        app.include_router(api)
