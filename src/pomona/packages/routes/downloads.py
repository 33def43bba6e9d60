"""Downloads, over HTTP: the API's ``/api/v1/packages/{filename}/download`` and the
distribution point's ``/Packages/{filename}`` that Jamf Pro clients fetch.

Answering a download: conditional requests, ranges, and the way the bytes leave.

Local storage answers with Starlette's ``FileResponse`` (ranges, multipart ranges and If-Range
handled there; under a server offering the ``http.response.pathsend`` extension, such as granian,
the file is sent by the server without passing through Python). S3 is either streamed through
(with the same range handling, done here) or answered with a redirect to a presigned URL.
Every path streams in fixed-size pieces, so memory stays flat whatever the file size.

Behind nginx, Caddy or Apache, ``download_offload`` hands the sending itself to the front server
(``X-Accel-Redirect`` or ``X-Sendfile``) once Pomona has answered everything that needs it: who
may download, which content the name points at, and If-None-Match on the content's SHA-256.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse
from starlette.concurrency import iterate_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import Receive, Scope, Send

from pomona.budget_http import api_router
from pomona.deps import SettingsDep
from pomona.packages.deps import Catalog, DownloadAccess, Reader, Store
from pomona.packages.routes.catalog import Filename
from pomona.packages.routes.schemas import Responses, responses
from pomona.packages.storage import Storage
from pomona.packages.values import Located

DOWNLOAD_PIECE = 1024 * 1024  # bytes read per step when a local file is sent
TYPES = {
    ".pkg": "application/octet-stream",
    ".dmg": "application/x-apple-diskimage",
    ".zip": "application/zip",
}


def media_type(filename: str) -> str:
    _, dot, extension = filename.rpartition(".")
    return TYPES.get(f"{dot}{extension}".lower(), "application/octet-stream")


def parse_ranges(header: str, size: int) -> list[tuple[int, int]] | None:
    """``Range: bytes=...`` as (start, end exclusive) pairs; ``None``: ignore the header (serve
    the whole file); an empty list: nothing satisfiable (416)."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip():
        return None
    ranges = []
    for part in spec.split(","):
        first, dash, last = part.strip().partition("-")
        if not dash:
            return None
        try:
            if not first:
                length = int(last)
                if length <= 0:
                    continue
                ranges.append((max(size - length, 0), size))
                continue
            start = int(first)
            end = int(last) + 1 if last else size
        except ValueError:
            return None
        if start < 0 or end <= start:
            if end <= start and last:
                return None
            continue
        if start < size:
            ranges.append((start, min(end, size)))
    return ranges


def asked_ranges(
    header: str | None, if_range: str | None, validators: tuple[str, str], size: int
) -> list[tuple[int, int]] | None:
    """The ranges a request asks for (as :func:`parse_ranges`), or None when it asks for the
    whole file: no ``Range``, or an ``If-Range`` that is neither of ``validators`` (the ETag
    and Last-Modified the answer carries)."""
    if not header or (if_range is not None and if_range.strip() not in validators):
        return None
    return parse_ranges(header, size)


def content_range(start: int, end: int, size: int) -> str:
    return f"bytes {start}-{end - 1}/{size}"


def _chunks(storage: Storage, key: str, start: int, end: int) -> AsyncIterator[bytes]:
    return iterate_in_threadpool(storage.open_range(key, start, end))


async def _multipart(
    storage: Storage, key: str, ranges: list[tuple[int, int]], boundary: str, kind: str, size: int
) -> AsyncIterator[bytes]:
    for start, end in ranges:
        yield _part_header(boundary, kind, start, end, size)
        async for chunk in _chunks(storage, key, start, end):
            yield chunk
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def _part_header(boundary: str, kind: str, start: int, end: int, size: int) -> bytes:
    return (
        f"--{boundary}\r\nContent-Type: {kind}\r\n"
        f"Content-Range: {content_range(start, end, size)}\r\n\r\n"
    ).encode()


def _empty() -> Iterator[bytes]:
    return iter(())


# The ASGI extension (offered by pomona.rsgi under granian) that sends one range of a file from
# the server itself, as ``http.response.pathsend`` sends a whole one.
PATHSEND_RANGE = "pomona.response.pathsend_range"


class LocalFile(FileResponse):
    """A local file, as Starlette answers it (conditions, ranges, multipart ranges), except
    that a single range is sent by the server itself where it offers that: a resumed download
    and each chunk a peer replicates then leave like a whole file does, without passing through
    Python. Elsewhere the file is read in 1 MiB pieces: Starlette's 64 KiB made each piece a
    trip to the thread pool, which under uvicorn (no zero-copy) was the cost (0.2 against 0.7 to
    1.3 x nginx's sendfile, docs/performance.md), for a piece or two of memory per connection.
    """

    chunk_size = DOWNLOAD_PIECE

    def __init__(self, path: Path, size: int, headers: dict[str, str], media_type: str) -> None:
        super().__init__(path, headers=headers, media_type=media_type)
        self.size = size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        span = self._single_range(scope)
        if span is None:
            await super().__call__(scope, receive, send)
            return
        start, end = span
        headers = MutableHeaders(raw=list(self.raw_headers))
        headers["content-range"] = content_range(start, end, self.size)
        headers["content-length"] = str(end - start)
        await send({"type": "http.response.start", "status": 206, "headers": headers.raw})
        await send({"type": PATHSEND_RANGE, "path": str(self.path), "start": start, "end": end})

    def _single_range(self, scope: Scope) -> tuple[int, int] | None:
        """The one range a GET asks for, when the server can send it; None: Starlette's way."""
        if PATHSEND_RANGE not in scope.get("extensions", {}) or scope["method"] != "GET":
            return None
        asked = Headers(scope=scope)
        validators = (self.headers["etag"], self.headers["last-modified"])
        ranges = asked_ranges(asked.get("range"), asked.get("if-range"), validators, self.size)
        return ranges[0] if ranges is not None and len(ranges) == 1 else None


@dataclass(frozen=True, slots=True)
class Offload:
    """How local files leave: Pomona sends them, or it names the file in a header for the front
    server to send, ``X-Accel-Redirect`` (a URI under ``location``) or ``X-Sendfile`` (a path).

    The front server announces itself with ``X-Sendfile-Type: <that header>`` on each request it
    forwards (the convention Rack and Plack use), so a client reaching Pomona directly still
    gets the file rather than an empty answer with a header it cannot follow.
    """

    mode: str
    location: str

    def answer(
        self, request: Request, key: str, path: Path, headers: dict[str, str], kind: str
    ) -> Response | None:
        if self.mode == "none" or request.headers.get("x-sendfile-type", "").lower() != self.mode:
            return None
        del headers["Accept-Ranges"]  # the front server says it, for the file it sends
        if self.mode == "x-accel-redirect":
            headers["X-Accel-Redirect"] = self.location + key
        else:
            headers["X-Sendfile"] = str(path)
        # The front server answers Range, If-Range and HEAD itself, from the file.
        return Response(headers=headers, media_type=kind)


def serve(
    request: Request,
    storage: Storage,
    found: Located,
    *,
    redirect: bool,
    presign_seconds: int,
    offload: Offload | None = None,
) -> Response:
    etag = f'"{found.sha256}"'
    kind = media_type(found.filename)
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(found.modified, usegmt=True),
        "Accept-Ranges": "bytes",
        "Cache-Control": "no-cache",
    }
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        if "*" in tags or etag in tags:
            return Response(status_code=304, headers=headers)
    path = storage.local_path(found.key)
    if path is not None:
        handed = offload and offload.answer(request, found.key, path, headers, kind)
        return handed or LocalFile(path, found.size, headers, kind)
    if redirect:
        url = storage.presigned_url(found.key, presign_seconds)
        if url is not None:
            return RedirectResponse(url, status_code=307, headers={"ETag": etag})
    head = request.method == "HEAD"
    size = found.size
    ranges = asked_ranges(
        request.headers.get("range"),
        request.headers.get("if-range"),
        (etag, headers["Last-Modified"]),
        size,
    )
    if ranges is None:
        body = _empty() if head else _chunks(storage, found.key, 0, size)
        headers["Content-Length"] = str(size)
        return StreamingResponse(body, headers=headers, media_type=kind)
    if not ranges:
        headers["Content-Range"] = f"bytes */{size}"
        return Response(status_code=416, headers=headers)
    if len(ranges) == 1:
        start, end = ranges[0]
        headers["Content-Range"] = content_range(start, end, size)
        headers["Content-Length"] = str(end - start)
        body = _empty() if head else _chunks(storage, found.key, start, end)
        return StreamingResponse(body, status_code=206, headers=headers, media_type=kind)
    boundary = secrets.token_hex(12)
    length = sum(
        len(_part_header(boundary, kind, start, end, size)) + (end - start) + 2
        for start, end in ranges
    ) + len(f"--{boundary}--\r\n")
    headers["Content-Length"] = str(length)
    body = _empty() if head else _multipart(storage, found.key, ranges, boundary, kind, size)
    return StreamingResponse(
        body,
        status_code=206,
        headers=headers,
        media_type=f"multipart/byteranges; boundary={boundary}",
    )


# -- routes --------------------------------------------------------------------------------------

_DOWNLOAD: Responses = {
    200: {"description": "The file", "content": {"application/octet-stream": {}}},
    206: {"description": "The requested range(s)"},
    304: {"description": "Not modified (If-None-Match)"},
    307: {"description": "Redirect to the storage (S3 with s3_download = redirect)"},
}


class Download:
    """What answering a download takes, gathered once for both download routes."""

    def __init__(
        self, request: Request, catalog: Catalog, storage: Store, settings: SettingsDep
    ) -> None:
        self.request = request
        self.catalog = catalog
        self.storage = storage
        self.settings = settings

    async def answer(self, filename: str) -> Response:
        found = await self.catalog.locate(filename)
        return serve(
            self.request,
            self.storage,
            found,
            redirect=self.settings.s3_download == "redirect",
            presign_seconds=self.settings.s3_presign_seconds,
            offload=Offload(
                self.settings.download_offload, self.settings.download_offload_location
            ),
        )


Downloads = Annotated[Download, Depends()]


async def download_package(filename: Filename, download: Downloads, _caller: Reader) -> Response:
    """Download a package (Range, If-Range, If-None-Match; the ETag is the SHA-256)."""
    return await download.answer(filename)


async def distribution_point(
    filename: Filename, download: Downloads, _access: DownloadAccess
) -> Response:
    """Jamf Pro's HTTP distribution point path: the DP URL plus ``/Packages/<filename>``."""
    return await download.answer(filename)


api = api_router(prefix="/api/v1/packages", tags=["packages"])
public = api_router(tags=["distribution point"])
# One operation per method: FastAPI gives a route serving GET and HEAD a single, unstable id.
for _method in ("GET", "HEAD"):
    api.add_api_route(
        "/{filename}/download",
        download_package,
        methods=[_method],
        operation_id=f"download_package_{_method.lower()}",
        response_class=Response,
        responses=responses(401, 403, 404, 409, 416, 422, ok=_DOWNLOAD),
    )
    public.add_api_route(
        "/Packages/{filename}",
        distribution_point,
        methods=[_method],
        operation_id=f"distribution_point_{_method.lower()}",
        response_class=Response,
        responses=responses(401, 403, 404, 409, 416, 422, ok=_DOWNLOAD),
    )
