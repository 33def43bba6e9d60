"""PatchServer's API, served by Pomona so that its scripts, AutoPkg steps and backups keep working.

Paths, methods, success statuses and bodies are PatchServer's: ``{"database_id", "id"}`` on a
create, ``{}`` on a new version, pretty-printed with sorted keys (shell scripts grep them). Where
PatchServer answered 400 for an invalid definition, so does this; the body is Pomona's error
format, which lists every problem. What changes is safety: writes, backups and restores need a
token (``Authorization: Bearer``, as PatchServer's clients send), and restore works into a server
that already has titles.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any, Literal, TypeVar

import orjson
from fastapi import Query, Request, Response
from fastapi.responses import HTMLResponse

from pomona.budget_http import ARCHIVE, DOCUMENT, accepts, api_router
from pomona.deps import ServicesDep, SettingsDep
from pomona.errors import BadRequest, Conflict, Forbidden, Invalid
from pomona.errors_http import error_responses
from pomona.http import read_json
from pomona.settings import Settings
from pomona.titles.access import check_may_write
from pomona.titles.deps import Reader, Titles, Writer, actor_of
from pomona.titles.feed import pretty
from pomona.titles.namespaces import bulk_namespace, target_namespace
from pomona.titles.routes.answers import UPLOAD_BODY, ZIP_RESPONSE, TitleIdParam, json_body
from pomona.titles.routes.backups import backup_response
from pomona.titles.routes.uploads import media_type, read_upload

T = TypeVar("T")
_JSON = "application/json"

LANDING = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Patch Server</title>
<meta http-equiv="refresh" content="0; url=/ui/"></head>
<body>
<h1>Pomona</h1>
<p>A patch source for Jamf Pro, compatible with PatchServer's API.</p>
<ul>
<li>Web UI: <a href="/ui/">/ui/</a></li>
<li>Jamf feed: <a href="/jamf/v1/software">/jamf/v1/software</a></li>
<li>API: <a href="/docs">/docs</a></li>
</ul>
</body>
</html>
"""


def _answer(value: Any, status: int) -> Response:
    return Response(pretty(value), status_code=status, media_type=_JSON)


async def _as_patchserver(call: Awaitable[T]) -> T:
    """PatchServer answered 400 for every invalid document; its clients know only that."""
    try:
        return await call
    except Invalid as exc:
        raise BadRequest(exc.problems, code=exc.code) from None


def _created(description: str, example: Any) -> dict[int | str, dict[str, Any]]:
    return {201: {"description": description, "content": {_JSON: {"example": example}}}}


router = api_router(tags=["PatchServer compatibility"])


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
async def landing() -> HTMLResponse:
    # PatchServer clients (patch_server_updater's `init`) look for this page's title.
    return HTMLResponse(LANDING)


@router.post(
    "/api/v1/title",
    status_code=201,
    response_class=Response,
    responses={
        **_created("The new title", {"database_id": 1, "id": "Composer"}),
        **error_responses(400, 401, 403, 409, 413, 422),
    },
    openapi_extra=json_body("SoftwareTitle", "A full patch definition (or a multipart 'file')"),
)
@accepts(ARCHIVE)
async def create_title(
    request: Request, titles: Titles, settings: SettingsDep, caller: Writer
) -> Response:
    """PatchServer's create: a JSON body or a multipart ``file``; 201 ``{database_id, id}``.
    The title goes to the caller's namespace when its token is limited to one."""
    into = target_namespace(caller.namespaces, None)
    raw = await _definition(request, settings)
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        check_may_write(caller, raw["id"])
    result = await _as_patchserver(titles.create(raw, actor_of(request, caller), namespace=into))
    return _answer({"database_id": result.database_id, "id": result.title.id}, 201)


async def _definition(request: Request, settings: Settings) -> Any:
    if media_type(request) != "multipart/form-data":
        return await read_json(request)
    content = await read_upload(request, settings)
    if len(content.items) != 1:
        raise BadRequest(
            "send one definition in the 'file' field", "/file", code="one_definition_expected"
        )
    return content.items[0].document


@router.delete(
    "/api/v1/title/{title_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 403, 404, 422),
)
async def delete_title(
    request: Request, titles: Titles, caller: Writer, title_id: TitleIdParam
) -> Response:
    """PatchServer's delete: 204. The title's history stays (see its history endpoint)."""
    check_may_write(caller, title_id)
    await titles.delete(title_id, actor_of(request, caller))
    return Response(status_code=204)


@router.post(
    "/api/v1/title/{title_id}/version",
    status_code=201,
    response_class=Response,
    responses={
        **_created("The version was added as the newest", {}),
        **error_responses(400, 401, 403, 404, 409, 413, 422),
    },
    openapi_extra=json_body("Patch", "One version; it becomes the newest"),
)
@accepts(DOCUMENT)
async def add_version(
    request: Request, titles: Titles, caller: Writer, title_id: TitleIdParam
) -> Response:
    """PatchServer's new version: it becomes the newest; 409 when it exists; 201 ``{}``."""
    check_may_write(caller, title_id)
    raw = await read_json(request)
    await _as_patchserver(titles.add_version(title_id, raw, actor_of(request, caller)))
    return _answer({}, 201)


@router.get(
    "/api/v1/backup",
    response_class=Response,
    responses={**ZIP_RESPONSE, **error_responses(401, 403)},
)
async def backup(titles: Titles, _caller: Reader) -> Response:
    """PatchServer's backup: a zip of ``patch_archive/<id>.json``."""
    return await backup_response(titles, history=False)


@router.post(
    "/api/v1/restore",
    status_code=201,
    response_class=Response,
    responses={
        **_created("The titles restored", [{"database_id": 1, "id": "Composer"}]),
        **error_responses(400, 401, 403, 409, 413, 422),
    },
    openapi_extra=UPLOAD_BODY,
)
@accepts(ARCHIVE)
async def restore(
    request: Request,
    titles: Titles,
    settings: SettingsDep,
    caller: Writer,
    policy: Annotated[
        Literal["skip", "replace", "copy"],
        Query(description="For ids that exist (PatchServer refused any): skip, replace or copy"),
    ] = "skip",
) -> Response:
    """PatchServer's restore (a multipart ``file``); into a server with titles too."""
    content = await read_upload(request, settings)
    outcomes = await _as_patchserver(
        titles.apply_items(
            caller,
            actor_of(request, caller),
            content.items,
            policy=policy,
            dry_run=False,
            action="restore",
            namespace=bulk_namespace(caller.namespaces, None),
        )
    )
    restored = [{"database_id": o.database_id, "id": o.id} for o in outcomes if o.result != "skip"]
    return _answer(restored, 201)


token_router = api_router(tags=["PatchServer compatibility"])


@token_router.post(
    "/api/v1/token",
    status_code=201,
    response_class=Response,
    responses={
        **_created("The token, shown once", {"token_created": "pmn_..."}),
        **error_responses(403),
    },
)
async def create_token(found: ServicesDep) -> Response:
    """PatchServer's first-caller token: only while the server has no token at all. Off unless
    ``patchserver_token_endpoint`` is set; the token may write titles."""
    tokens = found.tokens
    if await tokens.list_tokens():
        raise Forbidden(
            "a token already exists for this server; ask its admin for one", code="token_exists"
        )
    try:
        _, secret = await tokens.create("patchserver", ["titles:write"])
    except Conflict:
        raise Forbidden("a token already exists for this server", code="token_exists") from None
    return Response(orjson.dumps({"token_created": secret}), 201, media_type=_JSON)


def install(app: Any, settings: Settings) -> None:
    if settings.patchserver_compat:
        app.include_router(router)
    if settings.patchserver_token_endpoint:
        app.include_router(token_router)
