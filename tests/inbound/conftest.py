"""Inbound fixtures: sources made through the API, and waiting for the queue to process."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from pomona.events.models import Event

SOURCES = "/api/v1/inbound/sources"
TOKEN = "Bearer jamf-webhook-secret-0123456789"


async def make_source(
    client: httpx.AsyncClient, admin: dict[str, str], name: str = "prod", **spec: Any
) -> dict[str, Any]:
    body = {"name": name, "auth": "header", "headers": {"Authorization": TOKEN}} | spec
    answer = await client.post(SOURCES, json=body, headers=admin)
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def processed(
    client: httpx.AsyncClient, admin: dict[str, str], name: str, count: int
) -> list[dict[str, Any]]:
    """The source's ``count`` deliveries, once the queue has processed them all."""
    deadline = time.monotonic() + 30
    while True:
        answer = await client.get(f"{SOURCES}/{name}/events?perPage=200", headers=admin)
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        if len(items) >= count and all(i["status"] != "received" for i in items):
            return items
        assert time.monotonic() < deadline, [(i["id"], i["status"]) for i in items]
        await asyncio.sleep(0.1)


async def events(app: FastAPI, kind: str) -> list[Event]:
    async with app.state.services.db.sessions() as session:
        return list(await session.scalars(select(Event).where(Event.type == kind)))
