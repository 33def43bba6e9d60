"""Fixtures of the web UI's tests: an app on SQLite with people of each role, and a browser
client that signs in through the sign-in page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from pomona.app import create_app
from pomona.settings import Settings
from pomona.titles.values import Actor
from tests.accounts.conftest import PASSWORD, make_person
from tests.conftest import fixture_text

CSRF = re.compile(r'"X-CSRF-Token": "([^"]+)"')


@pytest.fixture
def ui_settings() -> dict[str, Any]:
    """Settings of ``ui_app`` beyond its data directory (which they may also set); a test
    module overrides it."""
    return {}


@pytest.fixture
async def ui_app(tmp_path: Path, ui_settings: dict[str, Any]) -> AsyncIterator[FastAPI]:
    application = create_app(Settings(**{"data_dir": tmp_path / "data", **ui_settings}))
    async with application.router.lifespan_context(application):
        for name, role in (("ada", "admin"), ("eve", "editor"), ("val", "viewer")):
            await make_person(application, name, role)
        await application.state.services.titles.create(
            orjson.loads(fixture_text("example.json")), Actor("test")
        )
        yield application


class Browser:
    """An httpx client that behaves as the UI's pages do: a session cookie, and htmx's
    ``HX-Request`` and ``X-CSRF-Token`` headers on every action."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.csrf = ""

    async def sign_in(self, username: str, password: str = PASSWORD) -> httpx.Response:
        answer = await self.http.post(
            "/ui/signin", data={"username": username, "password": password, "next": "/ui/"}
        )
        if answer.status_code == 303:
            page = await self.http.get("/ui/")
            found = CSRF.search(page.text)
            assert found, page.text
            self.csrf = found.group(1)
        return answer

    async def get(self, path: str, **options: object) -> httpx.Response:
        return await self.http.get(path, **options)  # type: ignore[arg-type]

    async def act(
        self, path: str, data: dict[str, object] | None = None, **options: object
    ) -> httpx.Response:
        headers = {"HX-Request": "true", "X-CSRF-Token": self.csrf}
        return await self.http.post(path, data=data, headers=headers, **options)  # type: ignore[arg-type]


@pytest.fixture
async def browser(ui_app: FastAPI) -> AsyncIterator[Browser]:
    transport = httpx.ASGITransport(app=ui_app, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        yield Browser(http)
