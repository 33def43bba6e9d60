"""The API's documentation pages, ``/docs`` (Swagger UI) and ``/redoc``, with their scripts and
styles served by Pomona itself: FastAPI's defaults load them from a CDN, and an admin's server
often has no internet, so the pages were blank. The assets are those the ``fastapi-offline``
package ships, at the versions it pins."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from pomona.budget_http import BudgetedRoute

ASSETS = Path(fastapi_offline.__file__).parent / "static"
PREFIX = "/docs/assets"


def install(app: FastAPI) -> None:
    """Serve the two pages and their assets; the app is built with ``docs_url=None`` and
    ``redoc_url=None`` so that FastAPI's CDN pages are not."""
    title = f"{app.title} API"
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_redirect = "/docs/oauth2-redirect"
    app.mount(PREFIX, StaticFiles(directory=ASSETS), name="docs-assets")

    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            oauth2_redirect_url=oauth2_redirect,
            swagger_js_url=f"{PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{PREFIX}/favicon.png",
        )

    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=title,
            redoc_js_url=f"{PREFIX}/redoc.standalone.js",
            redoc_favicon_url=f"{PREFIX}/favicon.png",
            with_google_fonts=False,
        )

    for path, page in (
        ("/docs", swagger_ui),
        (oauth2_redirect, swagger_ui_redirect),
        ("/redoc", redoc),
    ):
        app.router.add_api_route(
            path,
            page,
            methods=["GET", "HEAD"],
            include_in_schema=False,
            route_class_override=BudgetedRoute,
        )
