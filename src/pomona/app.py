"""``create_app(settings)``: builds the whole application; nothing is built at import time."""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import orjson
from anyio import to_thread
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema
from starlette.types import Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from pomona import __version__, docs_http
from pomona.accounts import routes as accounts_routes
from pomona.accounts.service import first_run_hint
from pomona.audit import routes as audit_routes
from pomona.container import Services, build_services
from pomona.db import Database
from pomona.errors_http import ERROR_DESCRIPTIONS, ErrorsOut, install_error_handlers
from pomona.events import routes as events_routes
from pomona.http import ORJSONResponse
from pomona.inbound import routes as inbound_routes
from pomona.jamf import routes as jamf_routes
from pomona.migrations import upgrade
from pomona.notifications import routes as notification_routes
from pomona.ops import logs, memory
from pomona.ops import routes as ops_routes
from pomona.ops.metrics import metrics
from pomona.ops.requests_http import Observe
from pomona.packages import routes as packages_routes
from pomona.queue import routes as queue_routes
from pomona.replication import routes as replication_routes
from pomona.settings import Settings, load_settings
from pomona.subscriptions import routes as subscription_routes
from pomona.tasks import build_queue
from pomona.titles import routes as titles_routes
from pomona.titles.feed import FeedCache
from pomona.titles.feed_http import FeedHandler, openapi_paths
from pomona.titles.publishing import start_publishing
from pomona.titles.schemas import Patch, SoftwareTitle
from pomona.ui import routes as ui_routes

DESCRIPTION = """
Pomona serves patch definitions to Jamf Pro as an External Patch Source and manages them.

* **Jamf feed** (`/jamf/v1/...`): public, read-only, what Jamf Pro polls.
* **Native API** (`/api/v1/...`): needs `Authorization: Bearer <token>`; create a token on the
  server with `pomona token create --name NAME --scope admin`.

Every error answers `{"errors": [{"path": "/json/pointer", "message": "..."}]}` listing every
problem found.
"""


class Pomona(FastAPI):
    """The application: FastAPI, with the Jamf feed answered before anything else.

    The feed is most of the traffic and its answers are rendered ahead of time, so FastAPI's
    per-request layers (its telemetry check and its error, body-limit and exception middleware)
    would cost more than the answer itself: measured, they halved the requests per second.
    """

    def __init__(self, settings: Settings, **options: Any) -> None:
        super().__init__(**options)
        self.state.settings = settings
        self.feed_handler = FeedHandler(
            super().__call__, lambda: self.state.feed, preview=settings.preview_feed
        )
        # Outermost: every request, the feed's included, gets an id and is counted.
        self.observe = Observe(self.feed_handler, metrics() if settings.metrics_enabled else None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.observe(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    if settings is None:
        # Built by a server's worker process from the environment (servers.py): the process is
        # ours, and so is its log set-up. Tests and embedders pass settings and keep theirs.
        settings = load_settings()
        logs.configure(settings.log_level, settings.log_format)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        memory.limit_arenas()  # before this process starts its threads (ops/memory.py)
        db = Database(settings.resolved_database_url, echo=settings.database_echo)
        if settings.migrate_on_start:
            await upgrade(db, settings=settings)
        feed = FeedCache(db, refresh_seconds=settings.feed_refresh_seconds)
        tasks = build_queue(settings, on_titles_change=feed.invalidate)
        app.state.feed = feed
        app.state.services = build_services(settings, db, tasks, on_titles_change=feed.refresh)
        await _first_run(app.state.services)
        if settings.metrics_enabled:
            metrics().watch(tasks.queue)
            flushing = asyncio.create_task(metrics().flushing())
        if settings.queue_embedded_workers:
            tasks.queue.start(settings.queue_embedded_workers)
        publishing = await start_publishing(settings, feed)  # None: no static feed set
        # What is built by now lives as long as the process: keep it out of the cyclic garbage
        # collector's full passes, which stop every thread, the Jamf feed's included. Measured
        # during a 500-title restore: passes over ~200,000 objects paused the feed 100-150 ms;
        # frozen, they scan a tenth of that and pause it under 30 ms.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()  # an application built again in this process (tests) starts afresh
            if publishing is not None:
                publishing.cancel()
                with suppress(asyncio.CancelledError):
                    await publishing
            if settings.metrics_enabled:
                flushing.cancel()
                with suppress(asyncio.CancelledError):
                    await flushing
                metrics().unwatch(tasks.queue)
            await to_thread.run_sync(tasks.close)
            await db.dispose()

    app = Pomona(
        settings,
        title="Pomona",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=ORJSONResponse,
        docs_url=None,  # docs_http serves the pages, with their assets, offline
        redoc_url=None,
    )
    install_error_handlers(app)
    docs_http.install(app)
    # Inside the application rather than the server, so that uvicorn and granian read the
    # headers alike; the Jamf feed, answered before it, does not need the client's address.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    for router in titles_routes.ROUTERS:
        app.include_router(router)
    app.include_router(audit_routes.api)
    for router in accounts_routes.ROUTERS:
        app.include_router(router)
    app.include_router(queue_routes.api)
    for router in inbound_routes.ROUTERS:
        app.include_router(router)
    for router in notification_routes.ROUTERS:
        app.include_router(router)
    app.include_router(ops_routes.router)
    app.include_router(subscription_routes.api)
    titles_routes.install_patchserver(app, settings)
    for router in events_routes.ROUTERS:
        app.include_router(router)
    events_routes.install_patchserver(app, settings)
    packages_routes.install(app)
    ui_routes.install(app)
    replication_routes.install(app)
    for router in jamf_routes.ROUTERS:
        app.include_router(router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


async def _first_run(services: Services) -> None:
    """Nobody can sign in or call the API yet: say in the log what to run."""
    hint = await first_run_hint(services.accounts.people, services.tokens)
    if hint is not None:
        logging.getLogger("pomona").warning(hint)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated document, completed so that it describes every answer the app gives.

    * The models that bodies read by hand refer to (the Jamf title and patch, the package edit)
      are added to the components.
    * FastAPI's own ``HTTPValidationError`` is replaced by ``ErrorsOut``: the app's 422 handler
      answers ``{"errors": [...]}`` everywhere, never ``{"detail": [...]}``.
    * Operations that document 401 name the credentials they take (and the ``WWW-Authenticate``
      header of that answer): a bearer token under ``/api/``, whatever ``package_download_auth``
      asks for elsewhere.
    * The Jamf feed, answered ahead of the routing (``feed_http``), is described from its table.
    * Routes serving both GET and HEAD get one operation id per method (FastAPI gives both the
      id of whichever method its set yields first, so ids were duplicated and unstable).
    """
    if app.openapi_schema:
        return app.openapi_schema
    with warnings.catch_warnings():
        # Fixed below: routes answering GET and HEAD share one id in FastAPI's output.
        warnings.filterwarnings("ignore", "Duplicate Operation ID", UserWarning)
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
    feed = dict(openapi_paths(preview=app.state.settings.preview_feed))
    schema["paths"] = feed | schema.get("paths", {})
    _, defs = models_json_schema(
        [
            (SoftwareTitle, "validation"),
            (Patch, "validation"),
            (packages_routes.PackagePatch, "validation"),
            (ErrorsOut, "serialization"),
        ],
        by_alias=True,
        ref_template=_REF,
    )
    components = schema.setdefault("components", {})
    models = components.setdefault("schemas", {})
    for name, definition in defs.get("$defs", {}).items():
        models.setdefault(name, definition)
    components.setdefault("securitySchemes", {}).update(
        {
            BEARER: {
                "type": "http",
                "scheme": "bearer",
                "description": "A token from `pomona token create --name NAME --scope SCOPE`",
            },
            BASIC: {
                "type": "http",
                "scheme": "basic",
                "description": "The distribution point's username and password, when "
                "`package_download_auth` is `basic`",
            },
            PEER_SIGNATURE: {
                "type": "apiKey",
                "in": "header",
                "name": "Signature",
                "description": "An HTTP Message Signature (RFC 9421) with a paired site's key: "
                "the protocol between replication peers (docs/replication.md)",
            },
        }
    )
    _complete_operations(schema, _download_security(app.state.settings))
    for name in ("HTTPValidationError", "ValidationError"):
        if f'"{_REF.format(model=name)}"' not in orjson.dumps(schema).decode():
            models.pop(name, None)
    app.openapi_schema = schema
    return schema


_REF = "#/components/schemas/{model}"
BEARER = "bearerAuth"
BASIC = "basicAuth"
PEER_SIGNATURE = "peerSignature"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _download_security(settings: Settings) -> list[dict[str, list[str]]]:
    """What ``/Packages/...`` asks for: it follows ``package_download_auth``."""
    mode = getattr(settings, "package_download_auth", "none")
    if mode == "token":
        return [{BEARER: []}]
    if mode == "basic":
        return [{BASIC: []}]
    return [{}]


def _complete_operations(schema: dict[str, Any], download: list[dict[str, list[str]]]) -> None:
    seen: dict[str, int] = {}
    for item in schema.get("paths", {}).values():
        for method in _METHODS:
            if method in item and "operationId" in item[method]:
                seen[item[method]["operationId"]] = seen.get(item[method]["operationId"], 0) + 1
    errors_ref = {"$ref": _REF.format(model="ErrorsOut")}
    validation_ref = _REF.format(model="HTTPValidationError")
    for path, item in schema.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            operation_id = operation.get("operationId")
            if operation_id is not None and seen[operation_id] > 1:
                base = re.sub(rf"_({'|'.join(_METHODS)})$", "", operation_id)
                operation["operationId"] = f"{base}_{method}"
            for parameter in operation.get("parameters", []):
                _complete_parameter(parameter)
            responses = operation.get("responses", {})
            if "requestBody" in operation:
                # Any body may be unreadable (400), and the request budget (budget_http)
                # refuses bodies too large or too slow.
                for status in (400, 408, 413):
                    responses.setdefault(
                        str(status),
                        {"description": ERROR_DESCRIPTIONS[status], "content": _json(errors_ref)},
                    )
            for answer in responses.values():
                body = answer.get("content", {}).get("application/json", {})
                if body.get("schema", {}).get("$ref") == validation_ref:
                    body["schema"] = dict(errors_ref)
                    answer["description"] = ERROR_DESCRIPTIONS[422]
            if "401" in responses:
                needs = [{BEARER: []}] if path.startswith("/api/") else download
                operation.setdefault("security", needs)
                responses["401"].setdefault("headers", {}).setdefault(
                    "WWW-Authenticate",
                    {"description": "How to authenticate", "schema": {"type": "string"}},
                )


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": dict(schema)}}


def _complete_parameter(parameter: dict[str, Any]) -> None:
    schema = parameter.get("schema", {})
    # A parameter in a URL or a header is absent or a string, never null: FastAPI's
    # ``str | None`` says ``anyOf: [string, null]``, which fuzzers read as "null is a value".
    alternatives = schema.get("anyOf", [])
    if {"type": "null"} in alternatives:
        others = [a for a in alternatives if a != {"type": "null"}]
        del schema["anyOf"]
        schema.update(others[0] if len(others) == 1 else {"anyOf": others})
    # Optional to FastAPI (so that its absence gets the protocol's own refusal) but required by
    # the protocol: the document says what a client must send.
    if schema.pop("x-required", False):
        parameter["required"] = True
        schema.pop("default", None)
