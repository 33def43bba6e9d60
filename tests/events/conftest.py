"""The events tests' settings and helpers: loopback receivers are allowed by the outbound guard
(as an admin would allow an internal network), the retry schedule is shortened, and the
dispatcher's own poll is off unless a test wants it, so a test drives delivery step by step."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from pomona.events.models import Event
from pomona.settings import Settings
from tests.conftest import fixture_text

EXAMPLE: dict[str, Any] = json.loads(fixture_text("example.json"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        fetch_allowed_networks=["127.0.0.0/8"],
        webhook_poll_seconds=0,
        webhook_retry_scale=0.001,
        webhook_timeout_seconds=5,
        queue_retry_delay=0.2,
    )


async def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json() if answer.content else None


async def events_of(app: FastAPI, after: int = 0) -> list[Event]:
    """Every event after ``after`` (a ``pk``), oldest first, straight from the outbox."""
    async with app.state.services.db.sessions() as session:
        return list(await session.scalars(select(Event).where(Event.pk > after).order_by(Event.pk)))


async def types_of(app: FastAPI, after: int = 0) -> list[str]:
    return [e.type for e in await events_of(app, after)]


async def until(check: Any, seconds: float = 30.0) -> Any:
    """Poll the coroutine function ``check`` until it returns something true."""
    for _ in range(int(seconds / 0.05)):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {check.__name__}")
