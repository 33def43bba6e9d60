"""Jamf Pro connections: the list (never a secret), add one (an API client, or a user and
password), check it (a job: the Jamf Pro version and the privileges each feature lacks, as
``pomona jamf check`` shows), delete it; push rules (packages of a tag go to a connection) and
the latest pushes. The API's services, body models and permission (``admin``) throughout."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal

from fastapi import Form, Path, Request, Response

from pomona.audit.deps import who
from pomona.deps import ServicesDep
from pomona.errors import Invalid
from pomona.jamf.deps import Admin, Jamf
from pomona.jamf.routes.connections import ConnectionIn, add_connection, start_job
from pomona.jamf.routes.pushes import RuleIn
from pomona.jamf.service import CHECK
from pomona.ui.pages_http import PREFIX, parse, redirect, ui_router
from pomona.ui.routes.job_status import Followed, Shown, refusal, show

router = ui_router(prefix=f"{PREFIX}/jamf")
HERE = f"{PREFIX}/jamf"
Name = Annotated[str, Path(max_length=64)]
Text = Annotated[str, Form(max_length=1024)]
SECRETS = ("clientSecret", "password")


async def jamf_page(
    request: Request, found: ServicesDep, caller: Admin, shown: Shown = Shown()
) -> Response:
    jamf = found.jamf
    return await show(
        request,
        found,
        caller,
        "jamf/list.html",
        shown,
        connections=await jamf.connections.list(),
        rules=await jamf.rules.list(),
        pushes=await jamf.pushes.search(limit=20),
    )


@router.get("")
async def connections(
    request: Request, found: ServicesDep, caller: Admin, job: Followed = None
) -> Response:
    return await jamf_page(request, found, caller, Shown(job=job))


@router.post("")
async def add(
    request: Request,
    found: ServicesDep,
    caller: Admin,
    name: Text = "",
    url: Text = "",
    clientId: Text = "",
    clientSecret: Text = "",
    username: Text = "",
    password: Text = "",
    hashType: Annotated[Literal["SHA_512", "MD5"], Form()] = "SHA_512",
) -> Response:
    """Checked by the API's body model: an API client's id and secret, or a user's name and
    password. Refused: the form again with each problem on its field (secrets not kept)."""
    typed = {
        "name": name,
        "url": url,
        "clientId": clientId,
        "clientSecret": clientSecret,
        "username": username,
        "password": password,
        "hashType": hashType,
    }
    try:
        body = parse(ConnectionIn, {k: v for k, v in typed.items() if v})
        await add_connection(found.jamf, body, who(request, caller))
    except Invalid as exc:
        shown = refusal(exc, typed)
        kept = {k: v for k, v in shown.form.items() if k.lstrip("/") not in SECRETS}
        return await jamf_page(request, found, caller, replace(shown, form=kept))
    return redirect(request, HERE)


@router.post("/{name}/check")
async def check(request: Request, found: ServicesDep, caller: Admin, name: Name) -> Response:
    """A job: sign in, read the version and the privileges; the page follows it."""
    job = await start_job(found, caller, who(request, caller), CHECK, {"connection": name})
    return redirect(request, f"{HERE}?job={job.job_id}")


@router.post("/{name}/delete")
async def delete(request: Request, jamf: Jamf, caller: Admin, name: Name) -> Response:
    """Forget the connection and its rules; refused while a push to it runs."""
    await jamf.connections.delete(name, who=who(request, caller))
    return redirect(request, HERE)


@router.post("/rules")
async def add_rule(
    request: Request,
    jamf: Jamf,
    caller: Admin,
    tag: Annotated[str, Form(max_length=255)] = "",
    connection: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    body = parse(RuleIn, {"tag": tag.strip(), "connection": connection})
    await jamf.rules.create(body.tag, body.connection, who=who(request, caller))
    return redirect(request, HERE)


@router.post("/rules/apply")
async def apply_rules(request: Request, jamf: Jamf, _caller: Admin) -> Response:
    """Queue a push of every tagged package its connection lacks."""
    await jamf.rules.apply()
    return redirect(request, HERE)


@router.post("/rules/{connection}/{tag}/delete")
async def delete_rule(
    request: Request, jamf: Jamf, caller: Admin, connection: Name, tag: Name
) -> Response:
    await jamf.rules.delete(tag, connection, who=who(request, caller))
    return redirect(request, HERE)
