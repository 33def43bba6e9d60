"""``pomona jamf webhook``: send sample Jamf Pro webhooks to any receiver, and manage the
sources that post webhooks to this server (``/hooks/jamf/<source>``).

``send`` needs no server: it builds webhooks the way Jamf Pro sends them (every event type,
JSON or XML, random but plausible devices) and posts them, with the same authentication choices
Jamf Pro offers, so an admin can test a receiver, Pomona's or their own.
"""

from __future__ import annotations

import base64
import time
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import orjson
import typer

from pomona import __version__
from pomona.cli.client import (
    Exit,
    JsonOption,
    api,
    confirm,
    done,
    err,
    fail,
    out,
    print_json,
    table,
)
from pomona.inbound.samples import EVENT_TYPES, REFUSED_HEADERS, sample, to_xml

app = typer.Typer(
    help="Jamf Pro webhooks: send samples to a receiver; manage the sources posting here.",
    no_args_is_help=True,
)


def _auth_headers(auth: str | None, headers: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    if auth is not None:
        kind, _, rest = auth.partition(":")
        user, _, password = rest.partition(":")
        if kind != "basic" or not user or not password:
            fail("--auth takes basic:USER:PASSWORD")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        found["Authorization"] = f"Basic {token}"
    for header in headers:
        name, sep, value = header.partition(":")
        if not sep or not name.strip() or not value.strip():
            fail(f"--header takes 'Name: value', not {header!r}")
        if name.strip().lower() in REFUSED_HEADERS:
            fail(f"Jamf Pro does not let a webhook set {name.strip()}; choose another header")
        found[name.strip()] = value.strip()
    return found


@app.command()
def send(
    event: Annotated[
        str, typer.Argument(help="A Jamf Pro event (e.g. PatchSoftwareTitleUpdated), or 'all'")
    ],
    to: Annotated[str, typer.Option("--to", help="The receiver's URL")],
    xml: Annotated[bool, typer.Option("--xml", help="Send XML (<JSSEvent>), not JSON")] = False,
    auth: Annotated[
        str | None, typer.Option("--auth", help="Basic authentication: basic:USER:PASSWORD")
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option("--header", "-H", help="A header to send, 'Name: value' (repeatable)"),
    ] = None,
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="How many rounds")] = 1,
    every: Annotated[float, typer.Option("--every", min=0, help="Seconds between rounds")] = 0.0,
    webhook_id: Annotated[int, typer.Option("--webhook-id", help="The webhook's id")] = 1,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds per request")] = 10,
    show: Annotated[bool, typer.Option("--show", help="Print each body sent")] = False,
) -> None:
    """Send sample Jamf Pro webhooks to a receiver, the way Jamf Pro sends them."""
    events = list(EVENT_TYPES) if event == "all" else [event]
    if event != "all" and event not in EVENT_TYPES:
        fail(f"{event!r} is not a Jamf Pro webhook event; choose one of: {', '.join(EVENT_TYPES)}")
    if not to.startswith(("http://", "https://")):
        fail(f"--to takes an http:// or https:// URL, not {to!r}")
    headers = {
        "User-Agent": f"pomona-jamf-webhook/{__version__}",
        "Content-Type": "text/xml; charset=UTF-8" if xml else "application/json; charset=UTF-8",
        **_auth_headers(auth, header or []),
    }
    failures = 0
    with httpx.Client(timeout=timeout, headers=headers) as http:
        for round_ in range(repeat):
            if round_ and every:
                time.sleep(every)
            for name in events:
                webhook = sample(name, webhook_id=webhook_id)
                body = to_xml(webhook) if xml else orjson.dumps(webhook)
                if show:
                    out.print(body.decode(), markup=False, highlight=False)
                try:
                    answer = http.post(to, content=body)
                except httpx.TransportError as exc:
                    fail(f"cannot reach {to}: {exc or type(exc).__name__}", Exit.UNREACHABLE)
                ok = answer.is_success
                failures += not ok
                colour = "green" if ok else "red"
                out.print(f"[{colour}]{answer.status_code}[/{colour}] {name}", highlight=False)
                if not ok:
                    err.print(answer.text[:500], markup=False, highlight=False)
    if failures:
        fail(f"{failures} of {repeat * len(events)} webhooks were refused", Exit.REFUSED)
    done(f"sent {repeat * len(events)} webhook(s) to {to}")


# -- the sources posting to this server ---------------------------------------------------------

sources = typer.Typer(help="The Jamf Pro servers that post webhooks here.", no_args_is_help=True)
app.add_typer(sources, name="sources")


def _path(name: str, rest: str = "") -> str:
    return f"/api/v1/inbound/sources/{quote(name, safe='')}{rest}"


@sources.command("list")
def list_sources(as_json: JsonOption = False) -> None:
    """Every source, its URL and authentication (admin)."""
    with api() as client:
        items = client.json("GET", "/api/v1/inbound/sources")["items"]
    if as_json:
        print_json(items)
        return
    table(
        "name",
        "url",
        "auth",
        "enabled",
        "last received",
        rows=[
            [
                i["name"],
                i["url"],
                i["auth"],
                "yes" if i["enabled"] else "no",
                i["lastReceivedAt"] or "-",
            ]
            for i in items
        ],
    )


@sources.command("add")
def add_source(
    name: Annotated[str, typer.Argument(help="The source's name: /hooks/jamf/NAME")],
    basic: Annotated[
        str | None, typer.Option("--basic", help="Basic authentication, USER:PASSWORD")
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option("--header", "-H", help="A header Jamf Pro sends, 'Name: value' (repeatable)"),
    ] = None,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Accept webhooks with no credentials at all")
    ] = False,
    rule: Annotated[
        list[str] | None,
        typer.Option("--rule", help="EVENT=ACTION, e.g. 'PatchSoftwareTitleUpdated=notify'"),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a source (admin); then set the same URL and credentials in Jamf Pro."""
    body: dict[str, Any] = {"name": name}
    if basic is not None:
        user, _, password = basic.partition(":")
        body |= {"auth": "basic", "username": user, "password": password}
    elif header:
        headers = _auth_headers(None, header)
        body |= {"auth": "header", "headers": headers}
    elif no_auth:
        body |= {"auth": "none", "allowUnauthenticated": True}
    else:
        fail(
            "choose how Jamf Pro authenticates: --basic USER:PASSWORD, --header 'K: V' or --no-auth"
        )
    if rule:
        pairs = [r.partition("=") for r in rule]
        body["rules"] = [{"on": on, "action": action} for on, _, action in pairs]
    with api() as client:
        created = client.json("POST", "/api/v1/inbound/sources", json=body, ok=(201,))
    if as_json:
        print_json(created)
        return
    done(f"added source '{name}': in Jamf Pro, post webhooks to <this server>{created['url']}")


@sources.command("delete")
def delete_source(
    name: Annotated[str, typer.Argument(help="The source's name")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask")] = False,
) -> None:
    """Remove a source and the webhooks it sent (admin)."""
    confirm(f"Remove source '{name}' and the webhooks it sent?", yes)
    with api() as client:
        client.call("DELETE", _path(name))
    done(f"removed source '{name}'")


@sources.command("events")
def source_events(
    name: Annotated[str, typer.Argument(help="The source's name")],
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="How many")] = 20,
    as_json: JsonOption = False,
) -> None:
    """The latest webhooks a source sent, and what became of each (admin)."""
    with api() as client:
        found = client.json("GET", _path(name, "/events"), params={"perPage": limit})
    if as_json:
        print_json(found)
        return
    table(
        "id",
        "received",
        "event",
        "status",
        rows=[
            [str(i["id"]), i["receivedAt"], i["webhookEvent"], i["status"]] for i in found["items"]
        ],
    )
