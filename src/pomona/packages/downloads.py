"""Answering a download: conditional requests, ranges, and the way the bytes leave.

Local storage answers with Starlette's ``FileResponse`` (ranges, multipart ranges and If-Range
handled there; under a server offering the ``http.response.pathsend`` extension, such as granian,
the file is sent by the server without passing through Python). S3 is either streamed through
(with the same range handling, done here) or answered with a redirect to a presigned URL.
Every path streams in fixed-size pieces, so memory stays flat whatever the file size.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from email.utils import format_datetime

from fastapi import Request, Response
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse
from starlette.concurrency import iterate_in_threadpool

from pomona.packages.service import Located
from pomona.packages.storage import Storage

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
        f"Content-Range: bytes {start}-{end - 1}/{size}\r\n\r\n"
    ).encode()


def _empty() -> Iterator[bytes]:
    return iter(())


def serve(
    request: Request, storage: Storage, found: Located, *, redirect: bool, presign_seconds: int
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
        return FileResponse(path, headers=headers, media_type=kind)
    if redirect:
        url = storage.presigned_url(found.key, presign_seconds)
        if url is not None:
            return RedirectResponse(url, status_code=307, headers={"ETag": etag})
    head = request.method == "HEAD"
    size = found.size
    ranges = None
    header = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if header and (if_range is None or if_range.strip() in (etag, headers["Last-Modified"])):
        ranges = parse_ranges(header, size)
    if ranges is None:
        body = _empty() if head else _chunks(storage, found.key, 0, size)
        headers["Content-Length"] = str(size)
        return StreamingResponse(body, headers=headers, media_type=kind)
    if not ranges:
        headers["Content-Range"] = f"bytes */{size}"
        return Response(status_code=416, headers=headers)
    if len(ranges) == 1:
        start, end = ranges[0]
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
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
