"""The application over granian's RSGI interface: the Jamf feed answered in one call, every
other request handed to the ASGI application.

Why: the feed's answers are rendered ahead of time, so what a feed request costs is the way in
and out of Python. Under ASGI that is a scope dictionary built for each request and two message
dictionaries read back for the answer; under RSGI the feed reads the path and a header or two
from the server's own objects and answers with one call (``response_bytes``). Measured on two
cores, that is what separates the feed from nginx (``docs/performance.md``).

Everything else (the API, the web UI, package downloads and uploads, the event stream) goes
through :class:`_Bridge`, which gives the ASGI application what an ASGI server would: a scope,
the request body as it arrives, the client's disconnect, and the answer whole, streamed, or as
a file or one range of it that the server sends itself (``http.response.pathsend``, and
:data:`~pomona.packages.routes.downloads.PATHSEND_RANGE`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol
from urllib.parse import quote

from pomona.app import Pomona
from pomona.errors import Internal
from pomona.errors_http import errors_body, status_of
from pomona.ops.logs import REQUEST_ID, new_request_id
from pomona.ops.requests_http import HEADER, path_route
from pomona.packages.routes.downloads import PATHSEND_RANGE

log = logging.getLogger(__name__)

Message = MutableMapping[str, Any]
StrHeaders = list[tuple[str, str]]
_REQUEST_ID = HEADER.decode()


class _Headers(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...
    def items(self) -> list[tuple[str, str]]: ...


class _Scope(Protocol):
    proto: str
    http_version: str
    client: str
    server: str
    scheme: str
    method: str
    path: str
    query_string: str

    @property
    def headers(self) -> _Headers: ...


class _Stream(Protocol):
    async def send_bytes(self, data: bytes) -> None: ...


class _Protocol(Protocol):
    def __aiter__(self) -> Any: ...
    async def client_disconnect(self) -> None: ...
    def response_bytes(self, status: int, headers: StrHeaders, body: bytes) -> None: ...
    def response_file(self, status: int, headers: StrHeaders, file: str) -> None: ...
    def response_file_range(
        self, status: int, headers: StrHeaders, file: str, start: int, end: int
    ) -> None: ...
    def response_stream(self, status: int, headers: StrHeaders) -> _Stream: ...


def _str_headers(headers: list[tuple[bytes, bytes]]) -> StrHeaders:
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers]


def _address(text: str) -> tuple[str, int] | None:
    """``host:port`` (``[v6]:port``) as ASGI gives it; None for a Unix socket's empty one."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


class RsgiApp:
    """granian's RSGI application: the feed's fast path, the ASGI bridge, and the lifespan."""

    def __init__(self, app: Pomona) -> None:
        self.app = app
        self.observe = app.observe
        self.feed = app.feed_handler
        self._lifespan: _Lifespan | None = None
        # Header lists the feed shares between requests, as strings (granian takes no bytes).
        self._shared: dict[int, tuple[list[tuple[bytes, bytes]], StrHeaders]] = {}

    # -- granian's hooks: the worker's event loop, before it serves and after -----------------

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._lifespan = _Lifespan(self.app.router.lifespan_context(self.app))
        loop.run_until_complete(self._lifespan.start())

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._lifespan is not None:
            loop.run_until_complete(self._lifespan.stop())

    async def __rsgi__(self, scope: _Scope, protocol: _Protocol) -> None:
        if scope.proto != "http":
            return  # no WebSocket routes: granian closes the connection
        path = scope.path
        if path.startswith("/jamf/"):
            started = time.perf_counter()
            given = scope.headers.get(_REQUEST_ID)
            rid = new_request_id(given.encode("latin-1") if given else None)
            token = REQUEST_ID.set(rid)
            try:
                answer = await self.feed.answer(scope.method, path, scope.headers.get)
            finally:
                REQUEST_ID.reset(token)
            if answer is not None:
                headers = [*self._as_str(answer.headers), (_REQUEST_ID, rid)]
                protocol.response_bytes(answer.status, headers, answer.body)
                metrics = self.observe.metrics
                if metrics is not None:
                    seconds = time.perf_counter() - started
                    route = path_route(path, self.observe.known)
                    metrics.request(
                        scope.method, route, answer.status, seconds, len(answer.body), 0
                    )
                return
        await _Bridge(scope, protocol).run(self.app)

    def _as_str(self, headers: list[tuple[bytes, bytes]]) -> StrHeaders:
        """The feed's header list as strings, converted once per list: the feed renders its
        lists once per answer and keeps them, so the identity of the list is a safe key as long
        as the list itself is kept alive here with its conversion."""
        found = self._shared.get(id(headers))
        if found is not None and found[0] is headers:
            return found[1]
        converted = _str_headers(headers)
        if len(self._shared) >= 10_000:  # answers of titles since changed: start afresh
            self._shared.clear()
        self._shared[id(headers)] = (headers, converted)
        return converted


class _Bridge:
    """One request to the ASGI application, over the RSGI protocol."""

    def __init__(self, scope: _Scope, protocol: _Protocol) -> None:
        self.protocol = protocol
        self.scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": scope.http_version,
            "method": scope.method,
            "scheme": scope.scheme,
            "path": scope.path,
            # granian gives the path decoded; its encoded form is what a client would send.
            "raw_path": quote(scope.path).encode("ascii"),
            "query_string": scope.query_string.encode("latin-1"),
            "root_path": "",
            "headers": [
                (name.encode("latin-1"), value.encode("latin-1"))
                for name, value in scope.headers.items()
            ],
            "client": _address(scope.client),
            "server": _address(scope.server),
            "extensions": {"http.response.pathsend": {}, PATHSEND_RANGE: {}},
        }
        self._body: Any = None
        self._body_done = False
        self._status = 0
        self._headers: StrHeaders = []
        self._stream: _Stream | None = None
        self._answered = False

    async def run(self, app: Callable[[Any, Any, Any], Awaitable[None]]) -> None:
        try:
            await app(self.scope, self.receive, self.send)
        except Exception:
            log.exception(
                "unhandled error answering %s %s", self.scope["method"], self.scope["path"]
            )
            if not self._answered:
                error = Internal("internal error; the server log has the details")
                headers = [("content-type", "application/json")]
                self.protocol.response_bytes(status_of(error), headers, errors_body(error))
                self._answered = True
        if not self._answered:  # the application sent nothing at all
            self.protocol.response_bytes(500, [], b"")

    async def receive(self) -> Message:
        if not self._body_done:
            if self._body is None:
                self._body = self.protocol.__aiter__()
            try:
                chunk: bytes = await self._body.__anext__()
            except StopAsyncIteration:
                self._body_done = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.request", "body": chunk, "more_body": True}
        await self.protocol.client_disconnect()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self._status = message["status"]
            self._headers = _str_headers(message.get("headers") or [])
        elif kind == "http.response.body":
            body: bytes = message.get("body", b"")
            if self._stream is None:
                if not message.get("more_body", False):
                    self.protocol.response_bytes(self._status, self._headers, body)
                    self._answered = True
                    return
                self._stream = self.protocol.response_stream(self._status, self._headers)
                self._answered = True
            if body:
                await self._stream.send_bytes(body)
        elif kind == "http.response.pathsend":
            self.protocol.response_file(self._status, self._headers, message["path"])
            self._answered = True
        elif kind == PATHSEND_RANGE:  # end exclusive, as granian takes it
            self.protocol.response_file_range(
                self._status, self._headers, message["path"], message["start"], message["end"]
            )
            self._answered = True


class _Lifespan:
    """The application's lifespan in one task of its own, as ASGI servers run it: entered
    before the worker serves, left when it stops."""

    def __init__(self, context: AbstractAsyncContextManager[Any]) -> None:
        self.context = context
        self.started = asyncio.Event()
        self.stopping = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        async with self.context:
            self.started.set()
            await self.stopping.wait()

    async def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())
        started = asyncio.ensure_future(self.started.wait())
        await asyncio.wait({self.task, started}, return_when=asyncio.FIRST_COMPLETED)
        if self.task.done():
            started.cancel()
            self.task.result()  # the start-up's error, raised in the worker
            raise RuntimeError("the application's start-up ended before it started")

    async def stop(self) -> None:
        self.stopping.set()
        if self.task is not None:
            await self.task


def create_rsgi_app() -> RsgiApp:
    """granian's factory (``servers.py``): the application built from the environment."""
    from pomona.app import create_app

    app = create_app()
    assert isinstance(app, Pomona)
    return RsgiApp(app)
