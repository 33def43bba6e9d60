"""Where definitions to restore or import come from: uploaded files (a zip, a JSON definition or
a JSON array of them), a folder on the server, or another patch source reached over the
network. Each ends as ``Gathered`` documents that ``TitleService.apply_many`` validates as a
whole and then writes in one transaction.

Reading files is synchronous (decompressing a 500-title archive takes most of a second): code
on an event loop runs :func:`read_body` and :func:`read_file` in a worker thread.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import orjson

from pomona.errors import BadRequest, Invalid, NotFound, Problem, TooLarge
from pomona.net import FetchError, FetchPolicy, check_url, fetch
from pomona.settings import Settings
from pomona.titles.archive import Limits, is_zip, read_archive, read_json_file
from pomona.titles.budget import Budget
from pomona.titles.schemas import ID_PATTERN
from pomona.titles.values import Gathered, Incoming


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


def read_body(
    body: IO[bytes], settings: Settings, budget: Budget, *, zip_declared: bool = False
) -> Gathered:
    """Definitions from a whole upload: a zip (by its first bytes, or ``zip_declared`` by its
    sender), one JSON definition or a JSON array of them, located from the upload's root.
    What they cost once parsed is taken from ``budget``, the request's."""
    head = body.read(4)
    body.seek(0)
    if not head.strip():
        raise BadRequest(
            "the body is empty; send a zip archive or JSON definitions", code="upload_empty"
        )
    if is_zip(head) or zip_declared:
        return read_archive(body, limits(settings), budget)
    try:
        items = read_json_file("body", body.read(), budget)
    except Invalid as exc:
        # The whole body is not JSON: it could not be read at all.
        raise BadRequest(exc.problems, code=exc.code) from None
    return Gathered([Incoming(i.source.removeprefix("/body"), i.document) for i in items])


def read_file(name: str, file: IO[bytes], settings: Settings, budget: Budget) -> Gathered:
    """Definitions from one uploaded file, a zip or a JSON file, named ``name``, within the
    request's ``budget``."""
    name = Path(name or "upload").name
    head = file.read(4)
    file.seek(0)
    if is_zip(head):
        return read_archive(file, limits(settings), budget)
    data = file.read(settings.max_document_bytes + 1)
    if len(data) > settings.max_document_bytes:
        raise TooLarge(
            [Problem(f"/{name}", f"over {settings.max_document_bytes} bytes")],
            code="definition_too_large",
        )
    return Gathered(read_json_file(name, data, budget))


def from_directory(folder: Path, settings: Settings) -> Gathered:
    """Every ``*.json`` and ``*.zip`` file directly in ``folder`` (for server-side imports),
    all within one budget."""
    content, budget = Gathered(), Budget.of(settings)
    for path in sorted(folder.iterdir()):
        if path.is_symlink() or not path.is_file():
            content.ignored.append(path.name)
        elif path.suffix.lower() == ".zip":
            with path.open("rb") as handle:
                content.merge(read_archive(handle, limits(settings), budget))
        elif path.suffix.lower() == ".json":
            if path.stat().st_size > settings.max_document_bytes:
                raise TooLarge(
                    [Problem(f"/{path.name}", "larger than max_document_bytes")],
                    code="definition_too_large",
                )
            content.items.extend(read_json_file(path.name, path.read_bytes(), budget))
        else:
            content.ignored.append(path.name)
    return content


def _check_ids(ids: list[str], settings: Settings, *, listed_by: str | None = None) -> None:
    """Valid ids, not too many; ``listed_by`` names the remote list they came from, when the
    request named none."""
    problems = [
        Problem(f"/ids/{n}", f"'{title_id}' is not a valid title id", code="title_id_invalid")
        if listed_by is None
        else Problem(
            "/ids",
            f"{listed_by} lists '{title_id}', which is not a valid title id",
            code="title_id_invalid",
        )
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
                code="too_many_titles",
            )
        )
    if problems:
        raise Invalid(problems)


async def check_remote(base: str, ids: list[str] | None, settings: Settings) -> None:
    """What can be refused before anything is fetched: the ids, and an address the fetch
    policy refuses (loopback, private...), so that the request is refused at once rather than
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
) -> Gathered:
    """Titles from another patch source: its ``/software`` list, then ``/patch/{id}`` each.

    ``base`` is what Jamf Pro would be given (``https://host/jamf/v1``, a Kinobi or Title Editor
    feed, a PatchServer): ``<base>/software`` must list the titles. This talks to another host:
    it runs in a job (``titles.import-remote``), never in a request.
    """
    policy = fetch_policy(settings)
    root = base.rstrip("/")
    available = await remote_ids(root, settings, fetcher=fetcher)
    wanted = available if ids is None else ids
    missing = [i for i in wanted if i not in available]
    if missing:
        raise NotFound(
            [Problem("/ids", f"{root}/software does not list: {', '.join(missing[:20])}")],
            code="remote_title_not_found",
        )
    _check_ids(wanted, settings, listed_by=f"{root}/software" if ids is None else None)
    content, budget = Gathered(), Budget.of(settings)
    for title_id in wanted:
        url = f"{root}/patch/{quote(title_id, safe='')}"
        answer = await fetcher(url, policy)
        budget.spend(f"/{title_id}", answer)
        content.items.append(Incoming(f"/{title_id}", _json(answer, url)))
    return content


async def remote_ids(
    base: str,
    settings: Settings,
    *,
    fetcher: Callable[[str, FetchPolicy], Awaitable[bytes]] = fetch,
) -> list[str]:
    """The ids another patch source's ``<base>/software`` lists (in a job: it talks to
    another host)."""
    root = base.rstrip("/")
    listing = _json(await fetcher(f"{root}/software", fetch_policy(settings)), f"{root}/software")
    if not isinstance(listing, list):
        raise FetchError(f"{root}/software is not a JSON array of titles; is the URL a feed base?")
    return [s["id"] for s in listing if isinstance(s, dict) and isinstance(s.get("id"), str)]


def remote_json(data: bytes, url: str) -> Any:
    """A fetched document as JSON, or ``FetchError`` naming the URL."""
    return _json(data, url)


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
    "limits",
    "read_body",
    "read_file",
    "remote_ids",
    "remote_json",
]
