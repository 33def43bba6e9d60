"""Reading uploaded definitions from a request body: a zip, JSON, or a multipart form of files.

The body is received here (its route's budget, ``budget_http``, bounds it by
``archive_max_bytes``); reading what it holds, which means
decompressing and parsing, is done by :mod:`pomona.titles.sources` in a worker thread.
"""

from __future__ import annotations

from functools import partial
from typing import IO

from anyio import to_thread
from starlette.datastructures import UploadFile
from starlette.requests import Request

from pomona.errors import BadRequest, Problem
from pomona.settings import Settings
from pomona.titles.archive import spool
from pomona.titles.budget import Budget
from pomona.titles.sources import read_body, read_file
from pomona.titles.values import Gathered

_ZIP_TYPES = ("application/zip", "application/x-zip-compressed")


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _body_to_file(request: Request) -> IO[bytes]:
    target = spool()
    async for chunk in request.stream():
        target.write(chunk)
    target.seek(0)
    return target


async def read_upload(request: Request, settings: Settings, *, field: str = "file") -> Gathered:
    """Definitions from a body: a zip, one JSON definition or a JSON array of them, or a
    multipart form with any number of ``file`` parts (each a zip or a JSON file)."""
    kind = media_type(request)
    budget = Budget.of(settings)  # one for the whole request, however many files it holds
    if kind == "multipart/form-data":
        form = await request.form(max_files=settings.archive_max_members)
        try:
            uploads = [u for u in form.getlist(field) if isinstance(u, UploadFile)]
            if not uploads:
                raise BadRequest(
                    [Problem(f"/{field}", f"send the files as form fields named '{field}'")],
                    code="upload_no_files",
                )
            content = Gathered()
            for upload in uploads:
                name = upload.filename or "upload"
                read = partial(read_file, name, upload.file, settings, budget)
                content.merge(await to_thread.run_sync(read))
            return content
        finally:
            await form.close()
    body = await _body_to_file(request)
    with body:
        read = partial(read_body, body, settings, budget, zip_declared=kind in _ZIP_TYPES)
        return await to_thread.run_sync(read)
