"""Titles: the list, a title's tabs (read), and creating one (guided, from a JSON file, from an
app or package through the definition generator). Writes go through ``TitleService`` with the
API's checks (``Writer``, ``check_may_write``, ``target_namespace``)."""

from __future__ import annotations

import base64
import binascii
import tempfile
from pathlib import Path
from typing import Annotated, Any

import orjson
from anyio import to_thread
from fastapi import Form, Query, Request, Response, UploadFile

from pomona.auth.deps import Caller
from pomona.budget_http import ARCHIVE, accepts
from pomona.deps import SettingsDep
from pomona.errors import Invalid, Problem
from pomona.titles import starter
from pomona.titles.access import check_may_write
from pomona.titles.deps import Reader, Titles, Writer, actor_of
from pomona.titles.namespaces import target_namespace
from pomona.titles.routes.uploads import read_upload
from pomona.titles.schemas import CRITERION_TYPES, OPERATORS
from pomona.ui.deps import Ui
from pomona.ui.fields import problems_by_field
from pomona.ui.pages_http import PREFIX, redirect, render, ui_router
from pomona.ui.service import SOURCES, STATES, TitleFilter

router = ui_router(prefix=f"{PREFIX}/titles")
Text = Annotated[str | None, Query(max_length=255)]
TABS = (
    ("fields", "Title"),
    ("ea", "Extension attribute"),
    ("requirements", "Requirements"),
    ("versions", "Versions"),
    ("history", "History"),
    ("subscription", "Subscription"),
    ("preview", "Preview feed"),
)
GUIDED = ("/id", "/name", "/publisher", "/appName", "/bundleId", "/currentVersion")


@router.get("")
async def title_list(
    request: Request,
    ui: Ui,
    caller: Reader,
    q: Text = None,
    namespace: Text = None,
    state: Text = None,
    source: Text = None,
    behind: Annotated[bool, Query()] = False,
    failing: Annotated[bool, Query()] = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    size = 500
    only = TitleFilter(state, source, behind, failing)
    found = await ui.titles(
        query=q, namespace=namespace, only=only, offset=(page - 1) * size, limit=size
    )
    template = "titles/rows.html" if request.headers.get("hx-target") == "title-rows" else None
    return render(
        request,
        template or "titles/list.html",
        caller=caller,
        found=found,
        q=q or "",
        namespace=namespace or "",
        state=state or "",
        states=STATES,
        only=only,
        sources=SOURCES,
        page=page,
        pages=max(1, -(-found.total // size)),
    )


def decoded_script(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return value


async def title_page(
    request: Request, titles: Titles, caller: Caller, title_id: str, tab: str, **context: Any
) -> Response:
    """A tab of a title's page; ``context`` adds what the tab shows beyond the definition."""
    record = await titles.get(title_id)
    document = record.title.model_dump(by_alias=True, mode="json")
    return render(
        request,
        f"title/{tab}.html",
        context.pop("status", 200),
        caller=caller,
        record=record,
        doc=document,
        tabs=TABS,
        tab=tab,
        title_id=title_id,
        writable=caller.may_write_title(title_id),
        operators=OPERATORS,
        criterion_types=CRITERION_TYPES,
        decoded_script=decoded_script,
        errors=context.pop("errors", {}),
        **context,
    )


# -- creating ----------------------------------------------------------------------------------


@router.get("/-/new")
async def new_title(request: Request, titles: Titles, caller: Writer) -> Response:
    spaces = [n.slug for n in await titles.namespaces()]
    return render(request, "titles/new.html", caller=caller, errors={}, form={}, spaces=spaces)


@router.post("/-/new")
async def create_guided(
    request: Request,
    titles: Titles,
    caller: Writer,
    id: Annotated[str, Form(max_length=255)] = "",
    name: Annotated[str, Form(max_length=255)] = "",
    publisher: Annotated[str, Form(max_length=255)] = "",
    appName: Annotated[str, Form(max_length=255)] = "",
    bundleId: Annotated[str, Form(max_length=255)] = "",
    currentVersion: Annotated[str, Form(max_length=255)] = "",
    minimumOperatingSystem: Annotated[str, Form(max_length=64)] = "",
    namespace: Annotated[str | None, Form(max_length=63)] = None,
) -> Response:
    form = {
        "id": id,
        "name": name,
        "publisher": publisher,
        "appName": appName,
        "bundleId": bundleId,
        "currentVersion": currentVersion,
        "minimumOperatingSystem": minimumOperatingSystem,
    }
    info = starter.AppInfo(
        name or None, bundleId or None, currentVersion or None, None, appName or None, None
    )
    options = starter.Options(
        name=name or None,
        title_id=id or None,
        publisher=publisher or None,
        version=currentVersion or None,
        minimum_os=minimumOperatingSystem or None,
        bundle_id=bundleId or None,
    )
    try:
        document = _generated(info, options)
        return await _create(request, titles, caller, document, namespace)
    except Invalid as exc:
        spaces = [n.slug for n in await titles.namespaces()]
        return render(
            request,
            "titles/new.html",
            422,
            caller=caller,
            errors=problems_by_field(exc.problems, GUIDED),
            form=form,
            spaces=spaces,
        )


def _generated(info: starter.AppInfo, options: starter.Options) -> dict[str, Any]:
    try:
        return starter.generate(info, options).definition
    except starter.StarterError as exc:
        raise Invalid(str(exc), code="ui_generator_refused") from None


async def _create(
    request: Request, titles: Titles, caller: Writer, raw: Any, namespace: str | None
) -> Response:
    """The API's create: the namespace the caller may write to, the ids it may write."""
    into = target_namespace(caller.namespaces, namespace or None)
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        check_may_write(caller, raw["id"])
    result = await titles.create(raw, actor_of(request, caller), namespace=into)
    return redirect(request, f"{PREFIX}/titles/{result.title.id}")


@router.post("/-/upload")
@accepts(ARCHIVE)
async def create_from_file(
    request: Request,
    titles: Titles,
    settings: SettingsDep,
    caller: Writer,
    namespace: Annotated[str | None, Query(max_length=63)] = None,
) -> Response:
    """A definition in a JSON file (the API's upload reader)."""
    content = await read_upload(request, settings)
    if len(content.items) != 1:
        raise Invalid(
            f"the file holds {len(content.items)} definitions; create one title at a time "
            "(restore a backup for many)",
            "/file",
            code="ui_one_definition",
        )
    return await _create(request, titles, caller, content.items[0].document, namespace)


@router.post("/-/app")
@accepts(ARCHIVE)
async def create_from_app(
    request: Request, titles: Titles, caller: Writer, file: UploadFile
) -> Response:
    """A definition generated from an installer package, a zipped app or an Info.plist."""
    suffix = Path(file.filename or "upload").suffix.lower()
    if suffix not in (".pkg", ".zip", ".plist"):
        raise Invalid(
            "upload a flat installer package (.pkg), a zipped app (.zip) or an Info.plist",
            "/file",
            code="ui_generator_input",
        )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(await file.read())

        def generate() -> dict[str, Any]:
            try:
                return starter.generate_from(path, starter.Options()).definition
            except starter.StarterError as exc:
                raise Invalid([Problem("/file", str(exc))], code="ui_generator_refused") from None

        document = await to_thread.run_sync(generate)
    return await _create(request, titles, caller, document, None)


# -- the tabs (after the fixed paths above, which they would otherwise take) ------------------


@router.get("/{title_id}")
async def fields_tab(request: Request, titles: Titles, caller: Reader, title_id: str) -> Response:
    return await title_page(request, titles, caller, title_id, "fields")


@router.get("/{title_id}/{tab}")
async def other_tab(
    request: Request, titles: Titles, caller: Reader, title_id: str, tab: str
) -> Response:
    if tab not in {t for t, _ in TABS} - {"fields", "history", "subscription"}:
        raise Invalid(f"a title has no tab '{tab}'", "/tab", "path", code="ui_tab_unknown")
    return await title_page(request, titles, caller, title_id, tab)


def pretty(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
