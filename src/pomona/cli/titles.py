"""``pomona titles``: list, show, create, replace, import, export, delete, enable and disable
titles; their history, diffs and rollbacks."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.markup import escape
from rich.table import Column, Table

from pomona.cli.client import (
    Api,
    Exit,
    JsonOption,
    ReasonOption,
    StrictOption,
    api,
    confirm,
    done,
    err,
    exit_for,
    fail,
    out,
    print_json,
    read_document,
    show_problems,
    table,
    tables,
    warnings,
)
from pomona.cli.namespaces import NamespaceOption, with_namespace

app = typer.Typer(
    help="Titles: list, show, create, import, export, delete, enable, disable, history, "
    "diff, rollback.",
    no_args_is_help=True,
)

TitleArg = Annotated[str, typer.Argument(help="The title's id")]
SourceArg = Annotated[str, typer.Argument(help="A JSON definition file, or '-' for stdin")]
IMPORTABLE = (".json", ".zip")


def path_of(title_id: str) -> str:
    return f"/api/v1/titles/{quote(title_id, safe='')}"


def params(strict: bool = False, reason: str | None = None, **extra: Any) -> dict[str, Any]:
    found = {"strict": "true" if strict else None, "reason": reason, **extra}
    return {k: v for k, v in found.items() if v is not None}


def written(body: dict[str, Any], what: str, as_json: bool) -> None:
    """Report a write: warnings and a line on stderr, or the server's answer with --json."""
    if as_json:
        print_json(body)
        return
    warnings(body)
    # Lifecycle writes (enable, order, rollback) answer with the revision's summary too.
    summary = f": {body['summary']}" if body.get("summary") else ""
    done(f"{what} (revision {body.get('revision')}){summary}")


def versions_table(patches: list[dict[str, Any]]) -> None:
    """The versions of a title, newest first, as every command shows them."""
    table(
        "version",
        "released",
        "min OS",
        "standalone",
        "reboot",
        rows=[
            [
                p["version"],
                p["releaseDate"],
                p["minimumOperatingSystem"],
                "yes" if p["standalone"] else "no",
                "yes" if p["reboot"] else "no",
            ]
            for p in patches
        ],
    )


@app.command("list")
def list_titles(
    q: Annotated[
        str | None, typer.Option("--search", "-q", help="Search id, name, publisher")
    ] = None,
    namespace: NamespaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """List every title (all pages), or a namespace's."""
    with api() as client:
        items = list(client.pages("/api/v1/titles", params(q=q, namespace=namespace)))
    if as_json:
        print_json(items)
        return
    table(
        "id",
        "name",
        "publisher",
        "current",
        "last modified",
        "rev",
        rows=[
            [
                t["id"],
                t["name"],
                t["publisher"],
                t["currentVersion"],
                t["lastModified"],
                str(t["revision"]),
            ]
            for t in items
        ],
    )


@app.command()
def show(title_id: TitleArg, as_json: JsonOption = False) -> None:
    """A title's definition: a summary and its versions, or the whole document with --json."""
    with api() as client:
        response = client.call("GET", path_of(title_id))
    definition = response.json()
    if as_json:
        print_json(definition)
        return
    out.print(
        f"[bold]{definition['name']}[/bold] ({definition['id']}) by {definition['publisher']}"
    )
    out.print(
        f"current {definition['currentVersion']}, last modified {definition['lastModified']}, "
        f"revision {response.headers.get('etag', '?').strip(chr(34)).lstrip('r')}"
    )
    eas = [ea["key"] for ea in definition.get("extensionAttributes") or []]
    if eas:
        out.print("extension attributes: " + ", ".join(eas))
    versions_table(definition["patches"])


@app.command()
def create(
    source: SourceArg,
    strict: StrictOption = False,
    reason: ReasonOption = None,
    namespace: NamespaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a title from a full definition, in a namespace (publisher)."""
    document = read_document(source)
    query = params(strict, reason, namespace=namespace)
    with api() as client:
        body = client.json("POST", "/api/v1/titles", json=document, params=query)
    written(body, f"created title '{body['id']}'", as_json)


@app.command()
def replace(
    title_id: TitleArg,
    source: SourceArg,
    if_revision: Annotated[
        int | None,
        typer.Option("--if-revision", help="Only if the title is still at this revision"),
    ] = None,
    strict: StrictOption = False,
    reason: ReasonOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replace a title's whole definition (the old one stays in its history)."""
    document = read_document(source)
    headers = {"If-Match": f'"r{if_revision}"'} if if_revision is not None else {}
    with api() as client:
        body = client.json(
            "PUT", path_of(title_id), json=document, params=params(strict, reason), headers=headers
        )
    written(body, f"replaced title '{body['id']}'", as_json)


class Policy(StrEnum):
    """What a restore or import does with an id the server already has."""

    SKIP = "skip"
    REPLACE = "replace"
    COPY = "copy"


PolicyOption = Annotated[
    Policy,
    typer.Option(
        "--policy",
        help="An id that exists: skip it, replace it (a new revision), or copy beside it as "
        "<id>-copy",
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Validate and report what would happen; write nothing")
]
# What each outcome is called in a report, and in a dry run's.
_DONE = {"create": "created", "replace": "replaced", "copy": "copied", "skip": "skipped"}
_WOULD = {k: f"would {k}" for k in _DONE}


def import_report(body: dict[str, Any], as_json: bool) -> None:
    """The server's report of a restore or import: a table per title and the totals."""
    if as_json:
        print_json(body)
        return
    words = _WOULD if body["dryRun"] else _DONE
    table(
        "source",
        "id",
        "result",
        "rev",
        rows=[
            [
                item["source"],
                item["id"],
                words.get(item["result"], item["result"]),
                "" if item["revision"] is None else str(item["revision"]),
            ]
            for item in body["items"]
        ],
    )
    for item in body["items"]:
        warnings(item)
    if body["ignored"]:
        err.print(
            "[yellow]note:[/yellow] not definitions, ignored: "
            + escape(", ".join(body["ignored"])),
            soft_wrap=True,
        )
    counts = ", ".join(
        f"{body[key]} {word}"
        for key, word in (
            ("created", "created"),
            ("replaced", "replaced"),
            ("copied", "copied"),
            ("skipped", "skipped"),
        )
    )
    tail = " (dry run: nothing was written)" if body["dryRun"] else ""
    done(f"{counts}; policy {body['policy']}{tail}")


def _import_files(sources: list[Path]) -> list[Path]:
    """The files to send: each file given, and the .json and .zip files directly in a folder."""
    found: list[Path] = []
    for source in sources:
        if source.is_dir():
            inside = sorted(
                p for p in source.iterdir() if p.is_file() and p.suffix.lower() in IMPORTABLE
            )
            if not inside:
                fail(f"{source} has no .json or .zip file to import")
            found += inside
        elif source.is_file():
            found.append(source)
        else:
            fail(f"{source} does not exist; give definition files, zips or folders")
    return found


@app.command("import")
def import_titles(
    sources: Annotated[
        list[Path],
        typer.Argument(help="Definition files (JSON), zips of them, or folders of both"),
    ],
    policy: PolicyOption = Policy.SKIP,
    replace_existing: Annotated[
        bool, typer.Option("--replace", help="Same as --policy replace")
    ] = False,
    dry_run: DryRunOption = False,
    namespace: NamespaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import many titles at once: all are validated first, then written together, or none."""
    chosen = Policy.REPLACE if replace_existing else policy
    with ExitStack() as stack, api() as client:
        files: list[tuple[str, tuple[str, Any, str]]] = []
        for path in _import_files(sources):
            try:
                handle = stack.enter_context(path.open("rb"))
            except OSError as exc:
                fail(f"cannot read {path}: {exc}")
            kind = "application/zip" if path.suffix.lower() == ".zip" else "application/json"
            files.append(("file", (path.name, handle, kind)))
        body = client.json(
            "POST",
            "/api/v1/imports",
            files=files,
            params=with_namespace(
                {"policy": chosen.value, "dryRun": str(dry_run).lower()}, namespace
            ),
        )
    import_report(body, as_json)


@app.command("import-remote")
def import_remote(
    url: Annotated[
        str,
        typer.Argument(help="The other source's feed base, e.g. https://patch.example.com/jamf/v1"),
    ],
    ids: Annotated[
        list[str] | None,
        typer.Option("--id", help="A title to import; repeat for several [default: every title]"),
    ] = None,
    policy: PolicyOption = Policy.SKIP,
    dry_run: DryRunOption = False,
    namespace: NamespaceOption = None,
    as_json: JsonOption = False,
    no_wait: Annotated[
        bool,
        typer.Option("--no-wait", help="Print the job's id and return; the import goes on"),
    ] = False,
) -> None:
    """Import titles from another patch source (PatchServer, Kinobi, Title Editor, Pomona).

    The server imports in the background: this waits for the job and prints its report."""
    document = {"url": url, "ids": ids or None, "policy": policy.value, "dryRun": dry_run}
    document = with_namespace(document, namespace)
    with api() as client:
        job = client.json("POST", "/api/v1/imports/remote", json=document, ok=(202,))
        if no_wait:
            if as_json:
                print_json(job)
            else:
                out.print(job["id"])
                err.print(
                    f"queued as job {job['id']}; its state and report are at {job['url']} "
                    "(leave out --no-wait to wait for them here)",
                    soft_wrap=True,
                )
            return
        job = wait_for_job(client, job)
    import_report(job["result"], as_json)


def wait_for_job(
    client: Api, job: dict[str, Any], interval: float = 0.5, doing: str = "importing"
) -> dict[str, Any]:
    """Poll a job until it has finished, with a spinner saying what it is ``doing``; a failed
    job ends the command with its errors and the exit code its error status calls for."""
    try:
        with err.status(f"{doing} ({job['status']})...") as spinner:
            while job["status"] not in ("succeeded", "failed"):
                time.sleep(interval)
                job = client.json("GET", job["url"])
                spinner.update(f"{doing} ({job['status']})...")
    except KeyboardInterrupt:
        fail(f"stopped waiting; the job goes on at {job['url']}", Exit.REFUSED)
    if job["status"] == "failed":
        show_problems(job.get("errors") or [])
        raise typer.Exit(int(exit_for(job.get("errorStatus") or 500)))
    return job


@app.command()
def export(
    title_ids: Annotated[
        list[str] | None, typer.Argument(help="Title ids [default: every title]")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="A folder for <id>.json files (a file for one title)"),
    ] = None,
) -> None:
    """Write definitions as JSON: one title to stdout or a file, several to a folder."""
    with api() as client:
        ids = title_ids or [t["id"] for t in client.pages("/api/v1/titles", {})]
        if len(ids) > 1 and output is None:
            fail("several titles: give --output FOLDER to write one file each")
        documents = {i: client.json("GET", path_of(i)) for i in ids}
    if output is None:
        print_json(next(iter(documents.values()), None))
        return
    if len(ids) == 1 and (output.suffix == ".json" or not output.is_dir()) and title_ids:
        targets = {ids[0]: output}
    else:
        output.mkdir(parents=True, exist_ok=True)
        targets = {i: output / f"{i}.json" for i in ids}
    for title_id, target in targets.items():
        target.write_text(json.dumps(documents[title_id], indent=2, ensure_ascii=False) + "\n")
    done(f"exported {len(targets)} title(s) to {output}")


@app.command()
def delete(
    title_id: TitleArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask")] = False,
    reason: ReasonOption = None,
) -> None:
    """Delete a title: it leaves the feed at once; its history stays."""
    confirm(f"Delete title '{title_id}'?", yes)
    with api() as client:
        client.call("DELETE", path_of(title_id), params=params(reason=reason))
    done(f"deleted title '{title_id}'")


# -- what Jamf Pro sees --------------------------------------------------------------------------


def toggle(target: str, enabled: bool, what: str, reason: str | None, as_json: bool) -> None:
    """Enable or disable a title or a version (``target`` is its API path)."""
    verb = "enable" if enabled else "disable"
    with api() as client:
        body = client.json("POST", f"{target}/{verb}", params=params(reason=reason))
    written(body, f"{verb}d {what}", as_json)


@app.command()
def enable(title_id: TitleArg, reason: ReasonOption = None, as_json: JsonOption = False) -> None:
    """Put a title back on the Jamf feed."""
    toggle(path_of(title_id), True, f"title '{title_id}'", reason, as_json)


@app.command()
def disable(title_id: TitleArg, reason: ReasonOption = None, as_json: JsonOption = False) -> None:
    """Take a title off the Jamf feed; it stays in the API and the preview feed."""
    toggle(path_of(title_id), False, f"title '{title_id}'", reason, as_json)


# -- history -------------------------------------------------------------------------------------

RevisionArg = Annotated[int, typer.Argument(help="A revision number", min=1)]


def log_table(kept: tuple[str, ...], wrapped: tuple[str, ...], rows: list[list[str]]) -> None:
    """A log (history, audit): the ``kept`` columns (times, names) never wrap; the ``wrapped``
    ones (summaries, reasons) take the rest of the width."""
    view = Table(
        *[Column(name, no_wrap=True) for name in kept],
        *[Column(name, ratio=1) for name in wrapped],
    )
    for row in rows:
        view.add_row(*(escape(cell) for cell in row))
    tables().print(view)


@app.command()
def history(title_id: TitleArg, as_json: JsonOption = False) -> None:
    """A title's revisions, newest first: who, when, why and what changed."""
    with api() as client:
        items = list(client.pages(f"{path_of(title_id)}/history", {}))
    if as_json:
        print_json(items)
        return
    log_table(
        ("rev", "when", "who", "action"),
        ("what changed", "reason"),
        [
            [
                str(r["number"]),
                r["createdAt"],
                r["actor"],
                r["action"],
                r["summary"],
                r["reason"] or "",
            ]
            for r in items
        ],
    )


@app.command()
def revision(title_id: TitleArg, number: RevisionArg, as_json: JsonOption = False) -> None:
    """One revision: who made it and why, and the definition as it was (whole with --json)."""
    with api() as client:
        found = client.json("GET", f"{path_of(title_id)}/history/{number}")
    if as_json:
        print_json(found)
        return
    reason = f", because: {found['reason']}" if found["reason"] else ""
    out.print(
        escape(
            f"revision {found['number']} of {title_id}: {found['action']} by {found['actor']} "
            f"at {found['createdAt']}{reason}"
        )
    )
    out.print(escape(found["summary"]))
    definition = found["definition"]
    if definition is None:
        out.print(f"the title was deleted; `pomona titles rollback {title_id} N` brings it back")
        return
    off = ", ".join(found["disabledVersions"] or []) or "none"
    out.print(
        escape(
            f"{definition['name']} by {definition['publisher']}, current "
            f"{definition['currentVersion']}; title {'enabled' if found['enabled'] else 'disabled'}"
            f", disabled versions: {off}"
        )
    )
    versions_table(definition["patches"])


_MARKS = {"+": "green", "-": "red", "~": "yellow"}


@app.command()
def diff(
    title_id: TitleArg,
    older: Annotated[int, typer.Argument(help="From this revision", min=1)],
    newer: Annotated[int, typer.Argument(help="To this revision", min=1)],
    as_json: JsonOption = False,
) -> None:
    """What changed between two revisions, line by line (coloured at a terminal)."""
    with api() as client:
        found = client.json("GET", f"{path_of(title_id)}/diff", params={"from": older, "to": newer})
    if as_json:
        print_json(found)
        return
    changes = found["changes"]
    lines = changes["lines"]
    out.print(f"{escape(title_id)}: revision {older} -> {newer}", style="bold")
    for line in lines:
        out.print(escape(line), style=_MARKS.get(line[:1], ""))
    if not lines:
        out.print("no change")
    if changes["extensionAttributesToAccept"]:
        keys = ", ".join(changes["extensionAttributesToAccept"])
        err.print(
            f"[yellow]note:[/yellow] extension attribute {escape(keys)} is new or has a new "
            "script: Jamf Pro runs it only once accepted again",
            soft_wrap=True,
        )


@app.command()
def rollback(
    title_id: TitleArg,
    number: Annotated[int, typer.Argument(help="The revision to bring back", min=1)],
    if_revision: Annotated[
        int | None,
        typer.Option("--if-revision", help="Only if the title is still at this revision"),
    ] = None,
    reason: ReasonOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make an earlier revision current again, as a new revision; brings a deleted title back."""
    headers = {"If-Match": f'"r{if_revision}"'} if if_revision is not None else {}
    with api() as client:
        body = client.json(
            "POST",
            f"{path_of(title_id)}/rollback",
            params=params(reason=reason, revision=number),
            headers=headers,
        )
    written(body, f"rolled '{title_id}' back to revision {number}", as_json)
