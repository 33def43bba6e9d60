"""``pomona subscriptions`` (and ``pomona titles subscribe``): titles that follow a remote
definition or a version source, their checks, overrides, detaching and re-attaching."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from pomona.characters import is_number
from pomona.cli.client import (
    Exit,
    JsonOption,
    api,
    confirm,
    done,
    fail,
    out,
    print_json,
    read_document,
    table,
)
from pomona.cli.titles import wait_for_job

app = typer.Typer(
    help="Subscriptions and version sources: titles that keep themselves current.",
    no_args_is_help=True,
)

IdArg = Annotated[
    int, typer.Argument(help="The subscription's id (see `pomona subscriptions list`)")
]
EveryOption = Annotated[
    str | None,
    typer.Option("--every", help="How often to check: 90s, 30m, 1h, 1d [default: the server's]"),
]
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(every: str | None) -> int | None:
    """``1h`` as 3600; None stays None (the server's default)."""
    if every is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", every)
    if match is None:
        fail(f"--every {every!r}: give a number with s, m, h or d, e.g. 30m or 1h")
    return int(match.group(1)) * _UNITS[match.group(2) or "s"]


def _path(pk: int, *rest: str) -> str:
    return "/".join([f"/api/v1/subscriptions/{pk}", *rest])


def _show(item: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(item)
        return
    state = "attached" if item["attached"] else "detached (the title is local)"
    out.print(
        f"[bold]{item['titleId']}[/bold] (subscription {item['id']}, {item['kind']}, {state})"
    )
    out.print(f"follows {item['url']} every {item['every']} s; next check {item['nextCheckAt']}")
    if item["lastError"]:
        out.print(
            f"[red]last check failed ({item['failures']} in a row):[/red] {item['lastError']}"
        )
    elif item["lastSuccessAt"]:
        out.print(f"last good check {item['lastSuccessAt']}; upstream at {item['latestVersion']}")
    if item["overrides"]:
        out.print(f"overrides: {item['overrides']}")


def subscribe(
    url: Annotated[str, typer.Argument(help="A definition's URL, or another source's /patch/<id>")],
    every: EveryOption = None,
    title_id: Annotated[
        str | None, typer.Option("--title", help="The local title [default: the id the URL names]")
    ] = None,
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="definition, or a version source: github, sparkle, electron, homebrew, page, "
            "redirect, jsonpath",
        ),
    ] = "definition",
    option: Annotated[
        list[str] | None,
        typer.Option("--option", help="A version source's option, NAME=VALUE; repeat for several"),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Keep a title current from a URL: a definition (it becomes the title, under your
    overrides) or, with --kind, a version source (new versions are added to the title)."""
    options: dict[str, Any] = {}
    for item in option or []:
        name, sep, value = item.partition("=")
        if not sep:
            fail(f"--option {item!r}: give NAME=VALUE, e.g. pattern='Version ([0-9.]+)'")
        options[name] = {"true": True, "false": False}.get(value, value)
        if name == "versionParts" and is_number(value):
            options[name] = int(value)
    body = {
        "url": url,
        "titleId": title_id,
        "kind": kind,
        "options": options,
        "every": seconds(every),
    }
    with api() as client:
        created = client.json("POST", "/api/v1/subscriptions", json=body, ok=(201,))
    if as_json:
        print_json(created)
        return
    done(
        f"subscribed '{created['titleId']}' (subscription {created['id']}); the first check is "
        f"queued: see it with `pomona subscriptions show {created['id']}`"
    )


app.command("add")(subscribe)


@app.command("list")
def list_subscriptions(
    failing: Annotated[bool, typer.Option("--failing", help="Only those failing")] = False,
    as_json: JsonOption = False,
) -> None:
    """Every subscription and the outcome of its last check."""
    with api() as client:
        items = client.json(
            "GET", "/api/v1/subscriptions", params={"failing": "true"} if failing else None
        )["items"]
    if as_json:
        print_json(items)
        return
    table(
        "id",
        "title",
        "kind",
        "every",
        "last good",
        "failures",
        "url",
        rows=[
            [
                str(i["id"]),
                i["titleId"],
                i["kind"] + ("" if i["attached"] else " (detached)"),
                f"{i['every']} s",
                i["lastSuccessAt"] or "never",
                str(i["failures"]),
                i["url"],
            ]
            for i in items
        ],
    )


@app.command()
def show(pk: IdArg, as_json: JsonOption = False) -> None:
    """One subscription: what it follows, when, its overrides and its last outcome."""
    with api() as client:
        _show(client.json("GET", _path(pk)), as_json)


@app.command()
def check(
    pk: IdArg,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what it would do; write nothing")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check now and print the report (outcome, what changed, the error if it failed)."""
    with api() as client:
        job = client.json(
            "POST", _path(pk, "check"), params={"dryRun": str(dry_run).lower()}, ok=(202,)
        )
        report = wait_for_job(client, job, doing="checking")["result"]
    if as_json:
        print_json(report)
        return
    if report["outcome"] == "failed":
        fail(
            f"the check failed; the title keeps its last good state: {report['error']}",
            Exit.REFUSED,
        )
    prefix = "would be " if dry_run else ""
    done(f"{report['titleId']}: {prefix}{report['outcome']}; {report['summary']}")
    for note in report["notes"]:
        out.print(f"note: {note}")


@app.command()
def overrides(
    pk: IdArg,
    source: Annotated[str, typer.Argument(help="A JSON file of overrides, or - for stdin")],
    as_json: JsonOption = False,
) -> None:
    """Replace the local overrides (currentVersion, hideVersions, addVersions, requirements,
    extensionAttributes, criteria); they apply at once and survive every sync."""
    document = read_document(source)
    with api() as client:
        edited = client.json("PUT", _path(pk, "overrides"), json=document)
    if as_json:
        print_json(edited)
        return
    done(f"overrides of '{edited['titleId']}' applied; the title is served with them now")


@app.command()
def detach(pk: IdArg, as_json: JsonOption = False) -> None:
    """Detach: the title becomes local and is no longer checked."""
    with api() as client:
        _show(client.json("POST", _path(pk, "detach")), as_json)


@app.command()
def attach(pk: IdArg, as_json: JsonOption = False) -> None:
    """Re-attach: the next check (queued now) makes the title upstream under the overrides."""
    with api() as client:
        _show(client.json("POST", _path(pk, "attach")), as_json)


@app.command()
def delete(
    pk: IdArg, yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask")] = False
) -> None:
    """Stop following; the title stays, as a local title."""
    confirm(f"Stop subscription {pk}? The title stays as it is.", yes)
    with api() as client:
        client.call("DELETE", _path(pk))
    done(f"deleted subscription {pk}; its title is local now")


@app.command()
def bulk(
    url: Annotated[str, typer.Argument(help="The other source's feed base, e.g. .../jamf/v1")],
    ids: Annotated[
        list[str] | None, typer.Option("--id", help="A title; repeat [default: every title]")
    ] = None,
    every: EveryOption = None,
    as_json: JsonOption = False,
) -> None:
    """Subscribe to every title (or those given) of another patch source."""
    body = {"url": url, "ids": ids or None, "every": seconds(every)}
    with api() as client:
        job = client.json("POST", "/api/v1/subscriptions/bulk", json=body, ok=(202,))
        result = wait_for_job(client, job, doing="subscribing")["result"]
    if as_json:
        print_json(result)
        return
    done(f"subscribed {len(result['created'])} titles; skipped {len(result['skipped'])}")
    for skipped in result["skipped"]:
        out.print(f"skipped {skipped['titleId']}: {skipped['reason']}")
