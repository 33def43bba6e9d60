"""HTTP routes of the events domain: the event log and its stream (``events``), the catalogue
of types (``events`` too), webhook endpoints and their deliveries (``webhooks``), and
PatchServer's ``/api/v1/webhooks`` (``patchserver``)."""

from __future__ import annotations

from fastapi import APIRouter

from pomona.events.routes import events, webhooks
from pomona.events.routes.patchserver import install as install_patchserver

ROUTERS: tuple[APIRouter, ...] = (events.api, webhooks.api)

__all__ = ["ROUTERS", "install_patchserver"]
