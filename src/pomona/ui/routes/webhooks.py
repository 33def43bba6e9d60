"""Webhooks (admins): the endpoints, making one (its secret shown once), editing its filters,
enabling or disabling it, rotating its secret, deleting it; an endpoint's delivery log with
replay. The forms are checked by the API's body models and written by ``Webhooks``."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, Form, Query, Request, Response
from pydantic import BaseModel

from pomona.audit.deps import who
from pomona.errors import Invalid
from pomona.events.catalog import catalog
from pomona.events.deps import Admin, WebhooksDep
from pomona.events.endpoints import EndpointEdit, event_types_of
from pomona.events.models import WebhookEndpoint
from pomona.events.routes.webhooks import (
    DeliveryIdParam,
    EndpointEditIn,
    EndpointIdParam,
    EndpointIn,
    edit_of,
    spec_of,
)
from pomona.ui.fields import problems_by_field
from pomona.ui.pages_http import PREFIX, parse, redirect, render, ui_router

router = ui_router(prefix=f"{PREFIX}/webhooks")
Text = Annotated[str, Form(max_length=2048)]
KINDS = (("signed", "Signed (Standard Webhooks)"), ("slack", "Slack"), ("teams", "Teams"))
FIELDS = ("/url", "/kind", "/eventTypes", "/namespace", "/description")
LOG_SIZE = 50
M = TypeVar("M", bound=BaseModel)


def _types(text: str) -> list[str]:
    """Event types or patterns as the form holds them: separated by commas or spaces."""
    return text.replace(",", " ").split()


def _form(row: WebhookEndpoint) -> dict[str, Any]:
    return {
        "url": row.url,
        "eventTypes": ", ".join(event_types_of(row)),
        "namespace": row.namespace or "",
        "description": row.description,
        "enabled": row.enabled,
    }


async def _list(
    request: Request, webhooks: WebhooksDep, caller: Admin, status: int = 200, **context: Any
) -> Response:
    return render(
        request,
        "webhooks/list.html",
        status,
        caller=caller,
        endpoints=await webhooks.endpoints.list(),
        types_of=event_types_of,
        kinds=KINDS,
        catalog=sorted(catalog()),
        errors=context.pop("errors", {}),
        form=context.pop("form", {"eventTypes": "*", "enabled": True}),
        **context,
    )


async def _endpoint(
    request: Request,
    webhooks: WebhooksDep,
    caller: Admin,
    endpoint_id: str,
    status: int = 200,
    **context: Any,
) -> Response:
    row = await webhooks.endpoints.get(endpoint_id)
    state = context.pop("state", None)
    log = await webhooks.log.page(row, state=state, before=None, limit=LOG_SIZE)
    return render(
        request,
        "webhooks/endpoint.html",
        status,
        caller=caller,
        ep=row,
        types=event_types_of(row),
        catalog=sorted(catalog()),
        log=log,
        state=state or "",
        pending=any(d.delivery.state == "pending" for d in log.items),
        errors=context.pop("errors", {}),
        form=context.pop("form", None) or _form(row),
        **context,
    )


@router.get("")
async def endpoints(request: Request, webhooks: WebhooksDep, caller: Admin) -> Response:
    return await _list(request, webhooks, caller)


class EndpointForm:
    """An endpoint's form as typed (shown again with its problems), and the API's body of it."""

    def __init__(
        self,
        url: Text = "",
        kind: Annotated[str, Form(max_length=20)] = "signed",
        eventTypes: Text = "",
        namespace: Annotated[str, Form(max_length=64)] = "",
        description: Annotated[str, Form(max_length=255)] = "",
        enabled: Annotated[bool, Form()] = False,
    ) -> None:
        self.shown: dict[str, Any] = {
            "url": url,
            "kind": kind,
            "eventTypes": eventTypes,
            "namespace": namespace,
            "description": description,
            "enabled": enabled,
        }

    def body(self, model: type[M]) -> M:
        return parse(model, {**self.shown, "eventTypes": _types(self.shown["eventTypes"])})


Fields = Annotated[EndpointForm, Depends()]


@router.post("")
async def create_endpoint(
    request: Request, webhooks: WebhooksDep, caller: Admin, form: Fields
) -> Response:
    """A new endpoint; the page shows its signing secret this once."""
    try:
        spec = spec_of(form.body(EndpointIn))
        row, secret = await webhooks.endpoints.create(spec, who(request, caller))
    except Invalid as exc:
        errors = problems_by_field(exc.problems, FIELDS)
        return await _list(request, webhooks, caller, 422, errors=errors, form=form.shown)
    return await _list(request, webhooks, caller, 201, secret=secret, made=row)


@router.get("/{endpoint_id}")
async def endpoint(
    request: Request,
    webhooks: WebhooksDep,
    caller: Admin,
    endpoint_id: EndpointIdParam,
    state: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
) -> Response:
    return await _endpoint(request, webhooks, caller, endpoint_id, state=state)


@router.post("/{endpoint_id}")
async def edit_endpoint(
    request: Request,
    webhooks: WebhooksDep,
    caller: Admin,
    endpoint_id: EndpointIdParam,
    form: Fields,
) -> Response:
    """The URL, the filters, the description, and enabled (enabling again clears failures)."""
    try:
        edit = edit_of(form.body(EndpointEditIn))
        await webhooks.endpoints.update(endpoint_id, edit, who(request, caller))
    except Invalid as exc:
        errors = problems_by_field(exc.problems, FIELDS)
        return await _endpoint(
            request, webhooks, caller, endpoint_id, 422, errors=errors, form=form.shown
        )
    return redirect(request, f"{PREFIX}/webhooks/{endpoint_id}")


@router.post("/{endpoint_id}/enabled")
async def set_enabled(
    request: Request,
    webhooks: WebhooksDep,
    caller: Admin,
    endpoint_id: EndpointIdParam,
    enabled: Annotated[bool, Form()] = False,
) -> Response:
    """Enable or disable from the list, keeping everything else."""
    edit = EndpointEdit(enabled=enabled)
    await webhooks.endpoints.update(endpoint_id, edit, who(request, caller))
    return redirect(request, f"{PREFIX}/webhooks")


@router.post("/{endpoint_id}/rotate")
async def rotate_secret(
    request: Request, webhooks: WebhooksDep, caller: Admin, endpoint_id: EndpointIdParam
) -> Response:
    """A new secret, shown this once; the old one keeps signing for the overlap."""
    _row, secret = await webhooks.endpoints.rotate(endpoint_id, who(request, caller))
    return await _endpoint(request, webhooks, caller, endpoint_id, secret=secret)


@router.post("/{endpoint_id}/delete")
async def delete_endpoint(
    request: Request, webhooks: WebhooksDep, caller: Admin, endpoint_id: EndpointIdParam
) -> Response:
    await webhooks.endpoints.delete(endpoint_id, who(request, caller))
    return redirect(request, f"{PREFIX}/webhooks")


@router.post("/{endpoint_id}/deliveries/{delivery_id}/replay")
async def replay(
    request: Request,
    webhooks: WebhooksDep,
    caller: Admin,
    endpoint_id: EndpointIdParam,
    delivery_id: DeliveryIdParam,
) -> Response:
    """Send a delivery again now, from the start of its retry schedule."""
    await webhooks.replay(endpoint_id, delivery_id, who(request, caller))
    return redirect(request, f"{PREFIX}/webhooks/{endpoint_id}")
