"""What every request goes through first: its id, its metrics and its log context.

Plain ASGI, wrapped around the whole application (the Jamf feed's handler included), because
the feed is answered before FastAPI and is most of the traffic: the work here is a clock read at
each end, an id, and a few counters incremented (``metrics.Metrics.request``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pomona.ops.logs import REQUEST_ID, new_request_id
from pomona.ops.metrics import UNMATCHED, Metrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEADER = b"x-request-id"
FEED_PREFIXES = ("/jamf/v1", "/jamf/preview/v1")
FEED_KINDS = ("software", "patch")
KNOWN_PATHS = 10_000
_BODIES = frozenset({"POST", "PUT", "PATCH"})


def feed_route(path: str) -> str:
    """The template of a Jamf feed path, as the metrics label it: ids, title ids and namespace
    names are replaced by placeholders, so a label never holds a value a client chose."""
    for prefix in FEED_PREFIXES:
        rest = path.removeprefix(prefix)
        if rest == path or rest[:1] not in ("", "/"):
            continue
        parts = [p for p in rest.split("/") if p]
        if not parts:
            return prefix + "/"
        namespace = ""
        if parts[0] not in FEED_KINDS:
            namespace, parts = "/{namespace}", parts[1:]
        if not parts:
            return f"{prefix}{namespace}/"
        kind = parts[0]
        if kind == "software":
            return f"{prefix}{namespace}/software" + ("/{ids}" if len(parts) > 1 else "")
        if kind == "patch" and len(parts) > 1:
            return f"{prefix}{namespace}/patch/{{title_id}}"
        return UNMATCHED
    return UNMATCHED


def route_of(scope: Scope, known: dict[str, str]) -> str:
    """The route template of an answered request; ``known`` remembers the feed's paths, which
    repeat all day, so that each is parsed once (bounded: a scan of made-up paths empties it)."""
    route = scope.get("route")
    if route is not None:
        return str(getattr(route, "path", UNMATCHED))
    return path_route(scope["path"], known)


def path_route(path: str, known: dict[str, str]) -> str:
    """The route template of a path no application route answered (see ``route_of``)."""
    found = known.get(path)
    if found is None:
        found = feed_route(path) if path.startswith("/jamf/") else UNMATCHED
        if len(known) >= KNOWN_PATHS:
            known.clear()
        known[path] = found
    return found


class Observe:
    """Gives each HTTP request an id (``X-Request-ID`` in and out) and, unless ``metrics`` is
    None, counts it by route template, status, time and bytes."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None) -> None:
        self.app = app
        self.metrics = metrics
        self.known: dict[str, str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for name, value in scope["headers"]:
            if name == HEADER:
                given = value
                break
        rid = new_request_id(given)
        header = (HEADER, rid.encode())
        token = REQUEST_ID.set(rid)
        metrics = self.metrics
        started = time.perf_counter()
        status = 0
        sent = received = 0
        started_headers: list[tuple[bytes, bytes]] = []

        # A plain function handing back ``send``'s own awaitable: no coroutine of its own to
        # create and step through for each message of the feed's answers.
        def sending(message: Message) -> Awaitable[None]:
            nonlocal status, sent, started_headers
            kind = message["type"]
            if kind == "http.response.body":
                sent += len(message.get("body", b""))
            elif kind == "http.response.start":
                status = message["status"]
                headers = message.get("headers") or []
                # A new list: the feed sends header lists it prepared once and shares.
                message["headers"] = [*headers, header]
                started_headers = headers
            elif kind == "http.response.pathsend":  # granian sends the file; its length is known
                sent += _content_length(started_headers)
            return send(message)

        async def receiving() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            return message

        method = scope["method"]
        try:
            reader = receiving if metrics is not None and method in _BODIES else receive
            await self.app(scope, reader, sending)
        finally:
            REQUEST_ID.reset(token)
            if metrics is not None:
                seconds = time.perf_counter() - started
                route = route_of(scope, self.known)
                metrics.request(method, route, status or 500, seconds, sent, received)


def _content_length(headers: list[tuple[bytes, bytes]]) -> int:
    for name, value in headers:
        if name.lower() == b"content-length":
            return int(value)
    return 0
