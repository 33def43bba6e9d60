"""Typed FastAPI dependencies of the events domain."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, Request

from pomona.auth.deps import require
from pomona.auth.scopes import Principal
from pomona.deps import ServicesDep
from pomona.events.service import EventService
from pomona.events.stream_http import StopSignal
from pomona.events.webhooks import Webhooks


def event_service(found: ServicesDep) -> EventService:
    return found.events


def webhook_service(found: ServicesDep) -> Webhooks:
    return found.webhooks


Events = Annotated[EventService, Depends(event_service)]
WebhooksDep = Annotated[Webhooks, Depends(webhook_service)]
EventReader = Annotated[Principal, Depends(require("events:read"))]
Admin = Annotated[Principal, Depends(require("admin"))]


async def stopping(request: Request) -> asyncio.Event:
    """Set when this process is told to stop: open event streams end then."""
    state = request.app.state
    if getattr(state, "events_stopping", None) is None:
        state.events_stopping = StopSignal()
    watch: StopSignal = state.events_stopping
    watch.install()
    return watch.event


Stopping = Annotated[asyncio.Event, Depends(stopping)]
