"""Gather definitions to restore or import: from a request body, a zip, a directory, or another
patch source reached over the network. Everything ends as a list of ``Incoming`` documents that
``TitleService.apply_many`` validates as a whole and then writes in one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message

from pomona.errors import BadRequest, DomainError, Invalid, NotFound, Problem, TooLarge
from pomona.net import FetchError, FetchPolicy, check_url, fetch
from pomona.settings import Settings
from pomona.titles.archive import (
    ArchiveContent,
    Limits,
    is_zip,
    read_archive,
    read_json_file,
    spool,
)
from pomona.titles.records import Incoming
from pomona.titles.schemas import ID_PATTERN

_ZIP_TYPES = ("application/zip", "application/x-zip-compressed", "application/octet-stream")


def limits(settings: Settings) -> Limits:
    return Limits(
        max_members=settings.archive_max_members,
        max_member_bytes=settings.max_document_bytes,
        max_total_bytes=settings.archive_max_uncompressed_bytes,
        max_ratio=settings.archive_max_ratio,
    )


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy.from_settings(
        settings.fetch_allowed_networks,
        timeout=settings.fetch_timeout_seconds,
        max_bytes=settings.fetch_max_bytes,
        max_redirects=settings.fetch_max_redirects,
    )


def _too_large(limit: int) -> DomainError:
    return TooLarge(f"the upload is over {limit} bytes (archive_max_bytes)")


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


async def from_request(
    request: Request, settings: Settings, *, field: str = "file"
) -> ArchiveContent:
    """Definitions from a body: a zip, one JSON definition or a JSON array of them, or a
    multipart form with any number of ``file`` parts (each a zip or a JSON file)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    limit = settings.archive_max_bytes
    if kind == "multipart/form-data":
        content = ArchiveContent()
        form = await _limited(request, limit).form(max_files=settings.archive_max_members)
        uploads = [u for u in form.getlist(field) if isinstance(u, UploadFile)]
        if not uploads:
            raise BadRequest(
                [Problem(f"/{field}", f"send the files as form fields named '{field}'")]
            )
        for upload in uploads:
            _merge(content, await _upload(upload, settings))
        await form.close()
        return content
    body = await _body_to_file(request, limit)
    with body:
        head = body.read(4)
        body.seek(0)
        if not head.strip():
            raise BadRequest("the body is empty; send a zip archive or JSON definitions")
        if is_zip(head) or kind in _ZIP_TYPES[:2]:
            return read_archive(body, limits(settings))
        data = body.read()
    content = ArchiveContent()
    try:
        content.items = _json_items("body", data, top=True)
    except DomainError as exc:
        raise (BadRequest(exc.problems) if isinstance(exc, Invalid) else exc) from None
    return content


async def _upload(upload: UploadFile, settings: Settings) -> ArchiveContent:
    name = Path(upload.filename or "upload").name
    head = await upload.read(4)
    await upload.seek(0)
    if is_zip(head):
        return read_archive(upload.file, limits(settings))
    data = await upload.read(settings.max_document_bytes + 1)
    if len(data) > settings.max_document_bytes:
        raise TooLarge([Problem(f"/{name}", f"over {settings.max_document_bytes} bytes")])
    return ArchiveContent(read_json_file(name, data))


def _json_items(name: str, data: bytes, *, top: bool = False) -> list[Incoming]:
    items = read_json_file(name, data)
    if top:
        # The body itself: its problems are located from the body's root.
        return [Incoming(i.source.removeprefix("/body"), i.document) for i in items]
    return items


def _merge(into: ArchiveContent, other: ArchiveContent) -> None:
    into.items.extend(other.items)
    into.ignored.extend(other.ignored)


def from_directory(folder: Path, settings: Settings) -> ArchiveContent:
    """Every ``*.json`` and ``*.zip`` file directly in ``folder`` (for server-side imports)."""
    content = ArchiveContent()
    for path in sorted(folder.iterdir()):
        if path.is_symlink() or not path.is_file():
            content.ignored.append(path.name)
        elif path.suffix.lower() == ".zip":
            with path.open("rb") as handle:
                _merge(content, read_archive(handle, limits(settings)))
        elif path.suffix.lower() == ".json":
            if path.stat().st_size > settings.max_document_bytes:
                raise TooLarge([Problem(f"/{path.name}", "larger than max_document_bytes")])
            content.items.extend(read_json_file(path.name, path.read_bytes()))
        else:
            content.ignored.append(path.name)
    return content


def _check_ids(ids: list[str], settings: Settings, *, listed_by: str | None = None) -> None:
    """Valid ids, not too many; ``listed_by`` names the remote list they came from, when the
    request named none."""
    problems = [
        Problem(f"/ids/{n}", f"'{title_id}' is not a valid title id")
        if listed_by is None
        else Problem("/ids", f"{listed_by} lists '{title_id}', which is not a valid title id")
        for n, title_id in enumerate(ids)
        if not re.fullmatch(ID_PATTERN, title_id)
    ]
    if len(ids) > settings.remote_import_max_titles:
        problems.append(
            Problem(
                "/ids",
                f"{len(ids)} titles; one import fetches at most "
                f"{settings.remote_import_max_titles} (remote_import_max_titles): "
                "choose some with 'ids'",
            )
        )
    if problems:
        raise Invalid(problems)


async def check_remote(base: str, ids: list[str] | None, settings: Settings) -> None:
    """What can be refused before anything is fetched: the ids, and an address the fetch
    policy refuses (loopback, private...), so that the request answers 422 at once rather than
    a job that fails later."""
    if ids is not None:
        _check_ids(ids, settings)
    await check_url(f"{base.rstrip('/')}/software", fetch_policy(settings))


async def from_remote(
    base: str,
    ids: list[str] | None,
    settings: Settings,
    *,
    fetcher: Callable[[str, FetchPolicy], Awaitable[bytes]] = fetch,
) -> ArchiveContent:
    """Titles from another patch source: its ``/software`` list, then ``/patch/{id}`` each.

    ``base`` is what Jamf Pro would be given (``https://host/jamf/v1``, a Kinobi or Title Editor
    feed, a PatchServer): ``<base>/software`` must list the titles. This talks to another host:
    it runs in a job (``titles.import-remote``), never in a request.
    """
    policy = fetch_policy(settings)
    root = base.rstrip("/")
    listing = _json(await fetcher(f"{root}/software", policy), f"{root}/software")
    if not isinstance(listing, list):
        raise FetchError(f"{root}/software is not a JSON array of titles; is the URL a feed base?")
    available = [s["id"] for s in listing if isinstance(s, dict) and isinstance(s.get("id"), str)]
    wanted = available if ids is None else ids
    missing = [i for i in wanted if i not in available]
    if missing:
        raise NotFound(
            [Problem("/ids", f"{root}/software does not list: {', '.join(missing[:20])}")],
        )
    _check_ids(wanted, settings, listed_by=f"{root}/software" if ids is None else None)
    content = ArchiveContent()
    for title_id in wanted:
        url = f"{root}/patch/{quote(title_id, safe='')}"
        document = _json(await fetcher(url, policy), url)
        content.items.append(Incoming(f"/{title_id}", document))
    return content


def _json(data: bytes, url: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise FetchError(f"{url} did not answer JSON") from None


__all__ = [
    "check_remote",
    "fetch_policy",
    "from_directory",
    "from_remote",
    "from_request",
    "limits",
]
