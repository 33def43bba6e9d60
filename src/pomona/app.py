"""``create_app(settings)``: builds the whole application; nothing is built at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from pomona import __version__
from pomona.auth.service import TokenService
from pomona.db import Database
from pomona.http import ORJSONResponse, install_error_handlers
from pomona.migrations import upgrade
from pomona.settings import Settings
from pomona.titles import routes as titles_routes
from pomona.titles.feed import FeedCache
from pomona.titles.schemas import Patch, SoftwareTitle
from pomona.titles.service import TitleService

DESCRIPTION = """
Pomona serves patch definitions to Jamf Pro as an External Patch Source and manages them.

* **Jamf feed** (`/jamf/v1/...`): public, read-only, what Jamf Pro polls.
* **Native API** (`/api/v1/...`): needs `Authorization: Bearer <token>`; create a token on the
  server with `pomona token create --name NAME --scope admin`.

Every error answers `{"errors": [{"path": "/json/pointer", "message": "..."}]}` listing every
problem found.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.resolved_database_url, echo=settings.database_echo)
        if settings.migrate_on_start:
            await upgrade(db)
        feed = FeedCache(db, refresh_seconds=settings.feed_refresh_seconds)
        app.state.db = db
        app.state.feed = feed
        app.state.titles = TitleService(db, on_change=feed.invalidate)
        app.state.tokens = TokenService(db)
        try:
            yield
        finally:
            await db.dispose()

    app = FastAPI(
        title="Pomona",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=ORJSONResponse,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(titles_routes.feed)
    app.include_router(titles_routes.api)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated document, plus the Jamf models that bodies read by hand refer to."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    _, defs = models_json_schema(
        [(SoftwareTitle, "validation"), (Patch, "validation")],
        by_alias=True,
        ref_template="#/components/schemas/{model}",
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in defs.get("$defs", {}).items():
        components.setdefault(name, definition)
    app.openapi_schema = schema
    return schema
