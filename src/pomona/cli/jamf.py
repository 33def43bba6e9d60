"""``pomona jamf``: Jamf Pro connections, pushes of packages to Jamf Cloud with progress,
deletions, push rules, and registering Pomona with Jamf Pro (``connect``/``disconnect``).

Every command is a client of the server's API: the server holds the connections' secrets and
does the talking to Jamf Pro, as jobs this command follows.
"""

from __future__ import annotations

import os
import time
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from pomona.cli.client import (
    Api,
    Exit,
    JsonOption,
    api,
    confirm,
    done,
    err,
    exit_for,
    fail,
    out,
    print_json,
    show_problems,
    table,
)

app = typer.Typer(
    help="Jamf Pro: connections, package pushes to Jamf Cloud, deletions, push rules, connect.",
    no_args_is_help=True,
)
connection_app = typer.Typer(help="Jamf Pro connections: add, list, show, edit, delete.")
rules_app = typer.Typer(help="Push rules: every package with a tag goes to a connection.")
app.add_typer(connection_app, name="connection", no_args_is_help=True)
app.add_typer(rules_app, name="rules", no_args_is_help=True)

ConnectionArg = Annotated[str, typer.Argument(help="The connection's name")]
FilenameArg = Annotated[str, typer.Argument(help="The package's filename in Pomona's store")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Only show what would change")]
NoWaitOption = Annotated[
    bool, typer.Option("--no-wait", help="Print the id and return; the work goes on")
]
CONNECTIONS = "/api/v1/jamf/connections"


def _connection(name: str) -> str:
    return f"{CONNECTIONS}/{quote(name, safe='')}"


def _secret(given: str | None, env: str, what: str) -> str:
    """A secret from the option, the environment, or a hidden prompt (never the shell history)."""
    found = given or os.environ.get(env)
    if found:
        return found
    if not err.is_terminal:
        fail(f"give the {what} with {env} (or its option) when not at a terminal")
    value: str = typer.prompt(f"{what}", hide_input=True)
    return value


def wait(client: Api, job: dict[str, Any], doing: str) -> dict[str, Any]:
    """Follow a job until it ends; a failure ends the command with its problems."""
    try:
        with err.status(f"{doing}...") as spinner:
            while job["status"] not in ("succeeded", "failed"):
                time.sleep(0.5)
                job = client.json("GET", job["url"])
                spinner.update(f"{doing} ({job['status']})...")
    except KeyboardInterrupt:
        fail(f"stopped waiting; the job goes on at {job['url']}", Exit.REFUSED)
    if job["status"] == "failed":
        show_problems(job.get("errors") or [])
        raise typer.Exit(int(exit_for(job.get("errorStatus") or 500)))
    return job


def _show_connection(item: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(item)
        return
    who = item["clientId"] if item["auth"] == "client" else item["username"]
    kind = "API client" if item["auth"] == "client" else "user"
    out.print(f"[bold]{item['name']}[/bold]: {item['url']} ({kind} {who}), hash {item['hashType']}")


@connection_app.command("add")
def add_connection(
    name: ConnectionArg,
    url: Annotated[str, typer.Argument(help="e.g. https://example.jamfcloud.com")],
    client_id: Annotated[str | None, typer.Option(help="An API client's id")] = None,
    client_secret: Annotated[
        str | None, typer.Option(help="Its secret (or POMONA_JAMF_SECRET, or asked)")
    ] = None,
    username: Annotated[str | None, typer.Option(help="A Jamf Pro user, instead")] = None,
    password: Annotated[
        str | None, typer.Option(help="Their password (or POMONA_JAMF_SECRET, or asked)")
    ] = None,
    hash_type: Annotated[
        str, typer.Option(help="SHA_512, or MD5 for servers that need it")
    ] = "SHA_512",
    as_json: JsonOption = False,
) -> None:
    """Add a Jamf Pro server, with an API client (preferred) or a user."""
    if (client_id is None) == (username is None):
        fail("give --client-id (an API client) or --username (a user)")
    body: dict[str, Any] = {"name": name, "url": url, "hashType": hash_type}
    if client_id is not None:
        body |= {
            "clientId": client_id,
            "clientSecret": _secret(client_secret, "POMONA_JAMF_SECRET", "client secret"),
        }
    else:
        body |= {
            "username": username,
            "password": _secret(password, "POMONA_JAMF_SECRET", "password"),
        }
    with api() as client:
        created = client.json("POST", CONNECTIONS, json=body)
    _show_connection(created, as_json)
    if not as_json:
        done(f"next: `pomona jamf check {name}` signs in and lists missing privileges")


@connection_app.command("list")
def list_connections(as_json: JsonOption = False) -> None:
    """Every connection (never their secrets)."""
    with api() as client:
        items = client.json("GET", CONNECTIONS)["items"]
    if as_json:
        print_json(items)
        return
    rows = [
        [i["name"], i["url"], i["auth"], i["clientId"] or i["username"], i["hashType"]]
        for i in items
    ]
    table("name", "url", "auth", "client id / user", "hash", rows=rows)


@connection_app.command("show")
def show_connection(name: ConnectionArg, as_json: JsonOption = False) -> None:
    with api() as client:
        _show_connection(client.json("GET", _connection(name)), as_json)


@connection_app.command("edit")
def edit_connection(
    name: ConnectionArg,
    url: Annotated[str | None, typer.Option(help="A new URL")] = None,
    client_id: Annotated[str | None, typer.Option(help="Switch to this API client")] = None,
    username: Annotated[str | None, typer.Option(help="Switch to this user")] = None,
    new_secret: Annotated[
        bool, typer.Option("--secret", help="Set a new secret or password (asked)")
    ] = False,
    hash_type: Annotated[str | None, typer.Option(help="SHA_512 or MD5")] = None,
) -> None:
    """Change a connection; a new API client or user asks for its secret."""
    body: dict[str, Any] = {"url": url, "hashType": hash_type}
    if client_id is not None or username is not None or new_secret:
        with api() as client:
            current = client.json("GET", _connection(name))
        client_side = client_id is not None or (username is None and current["auth"] == "client")
        secret = _secret(None, "POMONA_JAMF_SECRET", "secret" if client_side else "password")
        if client_side:
            body |= {"clientId": client_id or current["clientId"], "clientSecret": secret}
        else:
            body |= {"username": username or current["username"], "password": secret}
    with api() as client:
        edited = client.json("PATCH", _connection(name), json={k: v for k, v in body.items() if v})
    _show_connection(edited, False)


@connection_app.command("delete")
def delete_connection(name: ConnectionArg, yes: YesOption = False) -> None:
    """Forget a connection and its push rules (nothing changes in Jamf Pro)."""
    confirm(f"Forget the connection {name}?", yes)
    with api() as client:
        client.call("DELETE", _connection(name))
    done(f"forgot {name}")


@app.command("check")
def check(name: ConnectionArg, as_json: JsonOption = False) -> None:
    """Sign in to Jamf Pro, show its version and the privileges each feature lacks."""
    with api() as client:
        job = client.json("POST", f"{_connection(name)}/check", ok=(202,))
        report = wait(client, job, f"checking {name}")["result"]
    if as_json:
        print_json(report)
        return
    out.print(f"Jamf Pro {report['version']} at {name}: signed in")
    if not report["privilegesKnown"]:
        out.print(
            "the account's privileges could not be read; grant those docs/jamf-cloud.md lists"
        )
    rows = [
        [f["feature"], "ok" if not f["missing"] else "missing: " + ", ".join(f["missing"])]
        for f in report["features"]
    ]
    table("feature", "privileges", rows=rows)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not err.is_terminal,
    )


def follow(client: Api, push: dict[str, Any]) -> dict[str, Any]:
    """Show a push's step and bytes (with rate and time left) until it ends."""
    try:
        with _progress() as bar:
            task = bar.add_task(push["step"], total=push["size"])
            while push["status"] not in ("succeeded", "failed"):
                time.sleep(0.5)
                push = client.json("GET", push["url"])
                bar.update(task, completed=push["bytesSent"], description=f"{push['step']:9}")
    except KeyboardInterrupt:
        fail(f"stopped watching; the push goes on at {push['url']}", Exit.REFUSED)
    return push


@app.command("push")
def push(
    filename: FilenameArg,
    to: Annotated[str, typer.Option("--to", help="The connection to push to")],
    no_wait: NoWaitOption = False,
    as_json: JsonOption = False,
) -> None:
    """Publish a package to Jamf Pro: record, JCDS upload, hash, inventory, verification."""
    with api() as client:
        started = client.json(
            "POST", "/api/v1/jamf/pushes", json={"filename": filename, "connection": to}, ok=(202,)
        )
        if no_wait:
            print_json(started) if as_json else out.print(started["id"])
            return
        ended = follow(client, started)
        if ended["status"] == "failed":
            job = client.json("GET", ended["jobUrl"])
            show_problems(job.get("errors") or [])
            raise typer.Exit(int(exit_for(job.get("errorStatus") or 500)))
    if as_json:
        print_json(ended)
        return
    how = {"skip": "already there", "multipart": "JCDS 2.0", "upload": "upload endpoint"}
    done(
        f"{filename} is in Jamf Pro at {to} (record {ended['packageId']}, "
        f"{how.get(ended['method'], ended['method'])}), verified"
    )


@app.command("pushes")
def pushes(
    to: Annotated[str | None, typer.Option("--to", help="Only to this connection")] = None,
    filename: Annotated[str | None, typer.Option(help="Only of this package")] = None,
    as_json: JsonOption = False,
) -> None:
    """Recent pushes, newest first."""
    params = {k: v for k, v in {"connection": to, "filename": filename}.items() if v}
    with api() as client:
        items = client.json("GET", "/api/v1/jamf/pushes", params=params)["items"]
    if as_json:
        print_json(items)
        return
    rows = [
        [p["id"][:12], p["filename"], p["connection"], p["status"], p["step"], p["createdAt"]]
        for p in items
    ]
    table("id", "filename", "to", "status", "step", "created", rows=rows)


@app.command("delete")
def delete(
    filename: Annotated[str, typer.Argument(help="The package's filename in Jamf Pro")],
    from_: Annotated[str, typer.Option("--from", help="The connection")],
    record: Annotated[
        bool, typer.Option("--record", help="Delete the package record too, not only the file")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Even when a policy or patch title uses it")
    ] = False,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    as_json: JsonOption = False,
) -> None:
    """Delete a package's file from Jamf Cloud (and its record with --record)."""
    what = "file and record" if record else "file"
    if not dry_run:
        confirm(f"Delete the {what} of {filename} from {from_}?", yes)
    body = {"filename": filename, "record": record, "force": force, "dryRun": dry_run}
    with api() as client:
        job = client.json("POST", f"{_connection(from_)}/removals", json=body, ok=(202,))
        report = wait(client, job, f"deleting {filename}")["result"]
    if as_json:
        print_json(report)
        return
    done(f"{filename} at {from_}: file {report['file']}, record {report['record']}")


def _plan(report: dict[str, Any]) -> bool:
    """Print a connect/disconnect plan; whether it changes anything."""
    rows = [[s["action"], s["kind"], s["name"]] for s in report["plan"]]
    table("action", "kind", "name", rows=rows)
    return any(s["action"] != "keep" for s in report["plan"])


def _link(name: str, route: str, body: dict[str, Any], dry_run: bool, yes: bool) -> None:
    with api() as client:
        path = f"{_connection(name)}/{route}"
        planned = client.json("POST", path, json={**body, "dryRun": True}, ok=(202,))
        report = wait(client, planned, "planning")["result"]
        if not _plan(report):
            done("nothing to change")
            return
        if dry_run:
            return
        confirm(f"Make these changes in Jamf Pro at {name}?", yes)
        applied = client.json("POST", path, json={**body, "dryRun": False}, ok=(202,))
        wait(client, applied, "applying")
    done("done")


@app.command("connect")
def connect(
    name: ConnectionArg,
    as_name: Annotated[
        str, typer.Option("--name", help="Name of the items in Jamf Pro")
    ] = "Pomona",
    distribution_point: Annotated[
        bool, typer.Option(help="Also add Pomona as an HTTP distribution point")
    ] = False,
    webhook_url: Annotated[
        str | None, typer.Option(help="Also send Jamf Pro's webhooks to this URL")
    ] = None,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
) -> None:
    """Register Pomona in Jamf Pro as an External Patch Source (shows the plan first)."""
    body = {"name": as_name, "distributionPoint": distribution_point, "webhookUrl": webhook_url}
    _link(name, "connect", body, dry_run, yes)


@app.command("disconnect")
def disconnect(
    name: ConnectionArg,
    as_name: Annotated[
        str, typer.Option("--name", help="Name of the items in Jamf Pro")
    ] = "Pomona",
    dry_run: DryRunOption = False,
    yes: YesOption = False,
) -> None:
    """Remove what `connect` added to Jamf Pro."""
    _link(name, "disconnect", {"name": as_name}, dry_run, yes)


@rules_app.command("list")
def list_rules(as_json: JsonOption = False) -> None:
    with api() as client:
        items = client.json("GET", "/api/v1/jamf/rules")["items"]
    if as_json:
        print_json(items)
        return
    table(
        "tag",
        "connection",
        "created",
        rows=[[r["tag"], r["connection"], r["createdAt"]] for r in items],
    )


@rules_app.command("add")
def add_rule(
    tag: Annotated[str, typer.Argument(help="Packages with this tag...")],
    to: Annotated[str, typer.Option("--to", help="...go to this connection")],
) -> None:
    with api() as client:
        client.call("POST", "/api/v1/jamf/rules", json={"tag": tag, "connection": to})
    done(f"packages tagged {tag} go to {to}; `pomona jamf rules apply` pushes them now")


@rules_app.command("delete")
def delete_rule(
    tag: Annotated[str, typer.Argument(help="The rule's tag")],
    to: Annotated[str, typer.Option("--to", help="The rule's connection")],
) -> None:
    with api() as client:
        client.call("DELETE", f"/api/v1/jamf/rules/{quote(to, safe='')}/{quote(tag, safe='')}")
    done(f"packages tagged {tag} no longer go to {to}")


@rules_app.command("apply")
def apply_rules() -> None:
    """Push now every tagged package its rule's connection lacks."""
    with api() as client:
        started = client.json("POST", "/api/v1/jamf/rules/apply")["pushes"]
    done(f"{len(started)} pushes queued; `pomona jamf pushes` follows them")
