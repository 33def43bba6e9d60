"""The Jamf feed over plain ASGI, ahead of everything FastAPI does per request.

Jamf Pro servers poll the feed all day, and its answers are rendered once per change
(``feed.py``), so the cost of a request is the path it takes to reach them. This handler matches
the feed's few paths itself and sends header lists prepared once per answer, without the
framework's per-request work (its telemetry check, error and body-limit middleware, routing,
dependency solving, response objects): ``app.Pomona`` calls it first. Any other request goes on
to the application. The OpenAPI document describes these paths from ``DOCS`` below.

Each namespace's feed is the same paths under ``<prefix>/<slug>``: ``/jamf/v1/software`` is the
default namespace's, ``/jamf/v1/<slug>/software`` another's. Slugs never take the names
``software`` or ``patch``, so the two never meet.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

from pomona.errors import DomainError, Invalid, NotAllowed, NotFound, Unavailable
from pomona.errors_http import ERROR_DESCRIPTIONS, errors_body, not_allowed, status_of
from pomona.http import accepts_gzip, gzip_etag, http_date, not_modified
from pomona.titles.feed import FeedCache, Rendered
from pomona.titles.namespaces import DEFAULT, RESERVED

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

FEED = "/jamf/v1"
PREVIEW = "/jamf/preview/v1"
MAX_IDS = 100_000  # characters of /software/{ids}
ALLOW = "GET, HEAD"
_JSON = b"application/json"

log = logging.getLogger(__name__)


Header = Callable[[str], "str | None"]


@dataclass(frozen=True, slots=True)
class Answer:
    """A feed answer, whole: the server interface sends it as it does (ASGI messages, or one
    RSGI call). The header lists are shared between requests: never change them in place."""

    status: int
    headers: Headers
    body: bytes


@dataclass(slots=True)
class Heads:
    """The header lists of one rendered answer, built on its first request."""

    plain: Headers  # 200, identity
    unchanged: Headers  # 304, identity
    unchanged_gzip: Headers  # 304 to a client that takes gzip
    gzip: Headers | None = None  # 200, gzip: built with the gzip copy, on first demand


def heads(rendered: Rendered) -> Heads:
    if rendered.http is not None:
        return rendered.http
    common = [(b"cache-control", b"no-cache"), (b"vary", b"Accept-Encoding")]
    if rendered.last_modified is not None:
        common.append((b"last-modified", http_date(rendered.last_modified).encode()))
    unchanged = [*common, (b"etag", rendered.etag.encode())]
    rendered.http = Heads(
        plain=[*_sized(rendered.body), *unchanged],
        unchanged=unchanged,
        unchanged_gzip=[*common, (b"etag", gzip_etag(rendered.etag).encode())],
    )
    return rendered.http


class FeedHandler:
    """Answers GET and HEAD on the feed (``FEED``, and ``PREVIEW`` when ``preview``): the base,
    ``/software``, ``/software/{ids}`` and ``/patch/{id}``, each with or without a trailing
    slash (Jamf Pro follows no redirect). Other methods there get 405."""

    def __init__(self, app: ASGIApp, feed: Callable[[], FeedCache], *, preview: bool) -> None:
        self.app = app
        self.feed = feed  # the cache is built when the application starts, after this handler
        self.feeds = [(FEED, False), *([(PREVIEW, True)] if preview else [])]
        self.bases = {
            prefix: f'{{"feed": "{prefix.strip("/")}", "software": "software"}}\n'.encode()
            for prefix, _ in self.feeds
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # As Starlette's routing does: a root path the server was given is not matched.
            path: str = scope["path"].removeprefix(scope.get("root_path") or "")
            if path.startswith("/jamf/"):
                found = await self.answer(scope["method"], path, _asgi_header(scope["headers"]))
                if found is not None:
                    await send(
                        {
                            "type": "http.response.start",
                            "status": found.status,
                            "headers": found.headers,
                        }
                    )
                    await send({"type": "http.response.body", "body": found.body})
                    return
        await self.app(scope, receive, send)

    async def answer(self, method: str, path: str, header: Header) -> Answer | None:
        """The answer to a request for ``path`` (``header``: the request's header of a
        lower-case name, or None); None when the path is not the feed's, or names a namespace
        this server does not have, which the application answers as any unknown path."""
        found = self._match(path)
        if found is None:
            return None
        try:
            return await self._serve(method, header, *found)
        except NotFound:
            return None
        except Exception:
            # Only a first read of the database can fail here (later failures serve the feed
            # as last read).
            log.exception("feed: cannot answer %s", path)
            message = "the feed cannot be read from the database yet; see the server log"
            return _error(Unavailable(message), method == "HEAD")

    def _match(self, path: str) -> tuple[str, bool, str, str, str] | None:
        """(prefix, preview, namespace, kind, argument) of a feed path; kind is "", "software"
        or "patch"."""
        for prefix, preview in self.feeds:
            rest = path.removeprefix(prefix)
            if rest == path or rest[:1] not in ("", "/"):
                continue
            if rest in ("", "/"):
                return prefix, preview, DEFAULT, "", ""
            _, kind, *argument = rest.removesuffix("/").split("/")
            namespace = DEFAULT
            if kind not in RESERVED:
                # <prefix>/<namespace>/...: the same paths, on that namespace's feed.
                namespace = kind
                if not argument:
                    return prefix, preview, namespace, "", ""
                kind, *argument = argument
            if kind == "software" and not argument:
                return prefix, preview, namespace, kind, ""
            if kind in RESERVED and len(argument) == 1 and argument[0]:
                return prefix, preview, namespace, kind, argument[0]
            return None
        return None

    async def _serve(
        self,
        method: str,
        header: Header,
        prefix: str,
        preview: bool,
        namespace: str,
        kind: str,
        argument: str,
    ) -> Answer:
        head = method == "HEAD"
        if not head and method != "GET":
            return _error(
                NotAllowed(not_allowed(method, ALLOW)), head, [(b"allow", ALLOW.encode())]
            )
        cache = self.feed()
        if not kind:
            # Jamf Pro's "Test" button sends HEAD here first; PatchServer answered 404.
            body = self.bases[prefix]
            if namespace != DEFAULT:
                await cache.namespace(namespace)  # an unknown one answers 404
                body = _base(prefix, namespace)
            return Answer(200, _sized(body), b"" if head else body)
        if kind == "patch":
            rendered = await cache.patch(argument, preview=preview, namespace=namespace)
            if rendered is None:
                message = f"no title '{argument}' on this feed"
                return _error(NotFound(message, "/title_id", "path", code="title_not_found"), head)
        elif argument:
            if len(argument) > MAX_IDS:
                message = f"the id list is {len(argument)} characters; the limit is {MAX_IDS}"
                return _error(Invalid(message, "/ids", "path"), head)
            ids = (i.strip() for i in argument.split(","))
            rendered = await cache.software_for(
                [i for i in ids if i], preview=preview, namespace=namespace
            )
        else:
            rendered = await cache.software(preview=preview, namespace=namespace)
        return _answer(header, rendered, head)


def _base(prefix: str, namespace: str) -> bytes:
    """A namespace's feed base; the slug is a known namespace's, so it needs no escaping."""
    return f'{{"feed": "{prefix.strip("/")}/{namespace}", "software": "software"}}\n'.encode()


def _answer(header: Header, rendered: Rendered, head: bool) -> Answer:
    known = heads(rendered)
    accept_encoding = header("accept-encoding")
    gzip = accept_encoding is not None and accepts_gzip(accept_encoding)
    if_none_match, if_modified_since = header("if-none-match"), header("if-modified-since")
    if (if_none_match is not None or if_modified_since is not None) and not_modified(
        if_none_match, if_modified_since, rendered.etag, rendered.last_modified
    ):
        return Answer(304, known.unchanged_gzip if gzip else known.unchanged, b"")
    if not gzip:
        return Answer(200, known.plain, b"" if head else rendered.body)
    body = rendered.gzipped()
    if known.gzip is None:
        known.gzip = [*_sized(body), (b"content-encoding", b"gzip"), *known.unchanged_gzip]
    return Answer(200, known.gzip, b"" if head else body)


def _sized(body: bytes) -> Headers:
    return [(b"content-type", _JSON), (b"content-length", b"%d" % len(body))]


def _error(error: DomainError, head: bool, extra: Headers | None = None) -> Answer:
    body = errors_body(error)
    return Answer(status_of(error), _sized(body) + (extra or []), b"" if head else body)


def _asgi_header(headers: Headers) -> Header:
    def header(name: str) -> str | None:
        wanted = name.encode()
        for key, value in headers:
            if key == wanted:
                return value.decode("latin-1")
        return None

    return header


# -- the OpenAPI description -------------------------------------------------------------------

# path, name, summary, description, parameter (name, description, max length), error statuses
DOCS: list[tuple[str, str, str, str, tuple[str, str, int | None] | None, tuple[int, ...]]] = [
    (
        "/",
        "feed_base",
        "Feed Base",
        'Jamf Pro\'s "Test" button sends HEAD here first; PatchServer answered 404, Pomona 200.',
        None,
        (),
    ),
    ("/software", "software", "Software", "Every title's summary.", None, (503,)),
    (
        "/software/{ids}",
        "software_for",
        "Software For",
        "The summaries of the titles named; unknown ids are left out, as Jamf's own feed does.",
        ("ids", "Comma-separated title ids; unknown ids are left out", MAX_IDS),
        (422, 503),
    ),
    (
        "/patch/{title_id}",
        "patch",
        "Patch",
        "One title's full definition.",
        ("title_id", "A title id", None),
        (404, 503),
    ),
]


# A namespace's feed: the same paths under its slug, and 404 for a slug the server does not have.
_NAMESPACE = {
    "name": "namespace",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "description": "A namespace's slug"},
    "description": "A namespace's slug (its feed); the main feed has none",
}


# The HTTP server (granian, uvicorn) answers these itself, with no body, before Pomona sees the
# request: a URL naming more titles than it reads.
_URL_TOO_LONG = {
    "414": {"description": "The URL is longer than the HTTP server reads; ask for fewer ids"},
    "431": {"description": "The request line and headers are longer than the HTTP server reads"},
}


def openapi_paths(*, preview: bool) -> Iterator[tuple[str, dict[str, Any]]]:
    """The feed's path items for the OpenAPI document, from ``DOCS``: the main feed's, then
    each path again under a namespace's slug."""
    errors = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorsOut"}}}
    prefixes = [(FEED, False), *([(PREVIEW, True)] if preview else [])]
    for (prefix, is_preview), namespaced in itertools.product(prefixes, (False, True)):
        tag = "jamf preview feed" if is_preview else "jamf feed"
        what = "every title and version, disabled ones too" if is_preview else "enabled titles only"
        for path, name, summary, description, parameter, doc_statuses in DOCS:
            full = prefix + ("/{namespace}" if namespaced else "") + path
            statuses = tuple(sorted({*doc_statuses, 404})) if namespaced else doc_statuses
            responses: dict[str, Any] = {
                "200": {
                    "description": "The feed is up"
                    if path == "/"
                    else f"Pretty-printed JSON, as PatchServer served it ({what})",
                    "content": {"application/json": {"schema": {}}},
                }
            }
            if path != "/":
                responses["304"] = {"description": "Not modified since the ETag or date held"}
            for status in statuses:
                described = ERROR_DESCRIPTIONS[status]
                responses[str(status)] = {"description": described, "content": errors}
            if parameter is not None or namespaced:
                responses.update(_URL_TOO_LONG)
            item: dict[str, Any] = {}
            for method in ("get", "head"):
                operation: dict[str, Any] = {
                    "tags": [tag],
                    "summary": summary,
                    "description": description,
                    # The ids FastAPI gave these operations when they were routes: kept stable.
                    "operationId": re.sub(r"\W", "_", name + full) + f"_{method}",
                    "responses": responses,
                }
                parameters = [_NAMESPACE] if namespaced else []
                if parameter is not None:
                    pname, pdescription, limit = parameter
                    schema: dict[str, Any] = {"type": "string", "description": pdescription}
                    if limit is not None:
                        schema["maxLength"] = limit
                    parameters.append(
                        {
                            "name": pname,
                            "in": "path",
                            "required": True,
                            "schema": schema,
                            "description": pdescription,
                        }
                    )
                if parameters:
                    operation["parameters"] = parameters
                item[method] = operation
            yield full, item
