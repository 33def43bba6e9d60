"""Reading uploaded definitions from a request body: a zip, JSON, or a multipart form of files.

The body is received here (within ``archive_max_bytes``); reading what it holds, which means
decompressing and parsing, is done by :mod:`pomona.titles.sources` in a worker thread.
"""

from __future__ import annotations

from functools import partial
from typing import IO

from anyio import to_thread
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message

from pomona.errors import BadRequest, DomainError, Problem, TooLarge
from pomona.settings import Settings
from pomona.titles.archive import spool
from pomona.titles.sources import read_body, read_file
from pomona.titles.values import Gathered

_ZIP_TYPES = ("application/zip", "application/x-zip-compressed")


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _too_large(limit: int) -> DomainError:
    return TooLarge(
        f"the upload is over {limit} bytes (archive_max_bytes)", code="upload_too_large"
    )


def _limited(request: Request, limit: int) -> Request:
    """The same request, whose body stops with 413 once it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    seen = 0

    async def receive() -> Message:
        nonlocal seen
        message = await request.receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise _too_large(limit)
        return message

    return Request(request.scope, receive)


async def _body_to_file(request: Request, limit: int) -> IO[bytes]:
    target = spool()
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            target.close()
            raise _too_large(limit)
        target.write(chunk)
    target.seek(0)
    return target


async def read_upload(request: Request, settings: Settings, *, field: str = "file") -> Gathered:
    """Definitions from a body: a zip, one JSON definition or a JSON array of them, or a
    multipart form with any number of ``file`` parts (each a zip or a JSON file)."""
    kind = media_type(request)
    limit = settings.archive_max_bytes
    if kind == "multipart/form-data":
        form = await _limited(request, limit).form(max_files=settings.archive_max_members)
        try:
            uploads = [u for u in form.getlist(field) if isinstance(u, UploadFile)]
            if not uploads:
                raise BadRequest(
                    [Problem(f"/{field}", f"send the files as form fields named '{field}'")],
                    code="upload_no_files",
                )
            content = Gathered()
            for upload in uploads:
                read = partial(read_file, upload.filename or "upload", upload.file, settings)
                content.merge(await to_thread.run_sync(read))
            return content
        finally:
            await form.close()
    body = await _body_to_file(request, limit)
    with body:
        read = partial(read_body, body, settings, zip_declared=kind in _ZIP_TYPES)
        return await to_thread.run_sync(read)
