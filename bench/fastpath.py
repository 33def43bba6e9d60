"""An experiment, not product code: the Jamf feed answered in plain ASGI ahead of FastAPI.

``python -m bench.run --servers fastpath`` measures it beside the real ``pomona serve``, to put
figures on the change proposed in docs/performance.md ("known gaps"). It serves the same bytes
from the same ``FeedCache``; only the plain case (GET or HEAD, no conditional header, no
Accept-Encoding) is short-cut, everything else (304, gzip, 404, the feed base) is passed to the
application untouched, so answers are identical whichever way they are made.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pomona.app import create_app as create_pomona
from pomona.http import http_date
from pomona.settings import Settings
from pomona.titles.feed import FeedCache, Rendered

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_PLAIN_ONLY = {b"if-none-match", b"if-modified-since", b"accept-encoding"}
_FIXED = [
    (b"content-type", b"application/json"),
    (b"cache-control", b"no-cache"),
    (b"vary", b"Accept-Encoding"),
]


class FeedFastPath:
    def __init__(self, app: Any) -> None:
        self.app = app
        # Header lists per rendered answer, built once: an answer's bytes never change.
        self._headers: dict[int, tuple[Rendered, list[tuple[bytes, bytes]]]] = {}

    def _head(self, rendered: Rendered) -> list[tuple[bytes, bytes]]:
        known = self._headers.get(id(rendered))
        if known is not None and known[0] is rendered:
            return known[1]
        headers = [*_FIXED, (b"content-length", str(len(rendered.body)).encode())]
        headers.append((b"etag", rendered.etag.encode()))
        if rendered.last_modified is not None:
            headers.append((b"last-modified", http_date(rendered.last_modified).encode()))
        if len(self._headers) > 4096:
            self._headers.clear()
        self._headers[id(rendered)] = (rendered, headers)
        return headers

    async def _lookup(self, cache: FeedCache, path: str) -> Rendered | None:
        rest = path.removeprefix("/jamf/v1/").removesuffix("/")
        kind, _, argument = rest.partition("/")
        if kind == "software" and not argument:
            return await cache.software()
        if kind == "software" and "/" not in argument and len(argument) <= 100_000:
            return await cache.software_for(i.strip() for i in argument.split(",") if i.strip())
        if kind == "patch" and argument and "/" not in argument:
            return await cache.patch(argument)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in ("GET", "HEAD")
            and scope["path"].startswith("/jamf/v1/")
            and not any(name in _PLAIN_ONLY for name, _ in scope["headers"])
        ):
            rendered = await self._lookup(self.app.state.feed, scope["path"])
            if rendered is not None:
                await send(
                    {"type": "http.response.start", "status": 200, "headers": self._head(rendered)}
                )
                body = b"" if scope["method"] == "HEAD" else rendered.body
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def create_app() -> FeedFastPath:
    return FeedFastPath(create_pomona(Settings()))
