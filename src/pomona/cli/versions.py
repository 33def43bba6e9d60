"""``pomona versions``: list, show, add (from JSON or straight from an app), edit, delete,
enable, disable, reorder and sort."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from pomona.cli.client import (
    JsonOption,
    ReasonOption,
    StrictOption,
    api,
    confirm,
    print_json,
    read_document,
)
from pomona.cli.titles import TitleArg, params, path_of, toggle, versions_table, written

app = typer.Typer(
    help="Versions of a title: list, show, add, edit, delete, enable, disable, reorder, sort.",
    no_args_is_help=True,
)

VersionArg = Annotated[str, typer.Argument(help="A version string of the title")]
# A JSON file, stdin, or something the generator reads (see `pomona starter`).
APP_SUFFIXES = (".app", ".zip", ".pkg", ".plist")


def _versions(title_id: str) -> str:
    return f"{path_of(title_id)}/versions"


def _version(title_id: str, version: str) -> str:
    return f"{_versions(title_id)}/{quote(version, safe='')}"


def _document(source: str) -> Any:
    """A version from JSON, or generated from an app, a zipped app, a .pkg or an Info.plist."""
    path = Path(source)
    if source != "-" and (path.is_dir() or path.suffix.lower() in APP_SUFFIXES):
        from pomona.cli.starter import generated

        return generated(path, patch_only=True).patch
    return read_document(source)


@app.command("list")
def list_versions(title_id: TitleArg, as_json: JsonOption = False) -> None:
    """A title's versions, newest first."""
    with api() as client:
        patches = client.json("GET", _versions(title_id))
    if as_json:
        print_json(patches)
        return
    versions_table(patches)


@app.command()
def show(title_id: TitleArg, version: VersionArg) -> None:
    """One version, as JSON."""
    with api() as client:
        print_json(client.json("GET", _version(title_id, version)))


@app.command()
def add(
    title_id: TitleArg,
    source: Annotated[
        str,
        typer.Argument(
            help="A JSON version, '-' for stdin, or an .app, zipped .app, .pkg or Info.plist"
        ),
    ],
    after: Annotated[
        str | None, typer.Option("--after", help="Place just after (older than) this version")
    ] = None,
    before: Annotated[
        str | None, typer.Option("--before", help="Place just before (newer than) this version")
    ] = None,
    strict: StrictOption = False,
    reason: ReasonOption = None,
    as_json: JsonOption = False,
    from_newest: Annotated[
        bool,
        typer.Option(
            "--from-newest",
            help="SOURCE is a version string: make it from the newest version (criteria, kill "
            "apps, capabilities), with the new version wherever the old one stood",
        ),
    ] = False,
) -> None:
    """Add a version: the newest by default."""
    document = {"version": source} if from_newest else _document(source)
    extra = {"from": "newest"} if from_newest else {"after": after, "before": before}
    with api() as client:
        body = client.json(
            "POST",
            _versions(title_id),
            json=document,
            params=params(strict, reason, **extra),
        )
    version = (body.get("version") or {}).get("version", "?")
    written(body, f"added version {version} to '{title_id}'", as_json)


@app.command()
def edit(
    title_id: TitleArg,
    version: VersionArg,
    source: Annotated[str, typer.Argument(help="The version's new content (JSON file or '-')")],
    strict: StrictOption = False,
    reason: ReasonOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replace one version's content; it keeps its place (the version string may change)."""
    document = _document(source)
    with api() as client:
        body = client.json(
            "PUT", _version(title_id, version), json=document, params=params(strict, reason)
        )
    written(body, f"edited version {version} of '{title_id}'", as_json)


@app.command()
def delete(
    title_id: TitleArg,
    version: VersionArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask")] = False,
    reason: ReasonOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete one version (a title keeps at least one)."""
    confirm(f"Delete version {version} of '{title_id}'?", yes)
    with api() as client:
        body = client.json("DELETE", _version(title_id, version), params=params(reason=reason))
    written(body, f"deleted version {version} of '{title_id}'", as_json)


@app.command()
def enable(
    title_id: TitleArg,
    version: VersionArg,
    reason: ReasonOption = None,
    as_json: JsonOption = False,
) -> None:
    """Put one version back on the Jamf feed."""
    toggle(_version(title_id, version), True, f"version {version} of '{title_id}'", reason, as_json)


@app.command()
def disable(
    title_id: TitleArg,
    version: VersionArg,
    reason: ReasonOption = None,
    as_json: JsonOption = False,
) -> None:
    """Take one version off the Jamf feed (currentVersion follows the newest enabled one)."""
    toggle(
        _version(title_id, version), False, f"version {version} of '{title_id}'", reason, as_json
    )


@app.command()
def reorder(
    title_id: TitleArg,
    order: Annotated[list[str], typer.Argument(help="Every version of the title, newest first")],
    reason: ReasonOption = None,
    as_json: JsonOption = False,
) -> None:
    """Put the versions in this order, newest first, as Jamf Pro reads them."""
    with api() as client:
        body = client.json(
            "PUT",
            f"{path_of(title_id)}/order",
            json={"versions": order},
            params=params(reason=reason),
        )
    written(body, f"reordered the versions of '{title_id}'", as_json)


@app.command()
def sort(title_id: TitleArg, reason: ReasonOption = None, as_json: JsonOption = False) -> None:
    """Order the versions by version number, newest first (10.13.10 above 10.13.3)."""
    with api() as client:
        body = client.json("POST", f"{path_of(title_id)}/order/sort", params=params(reason=reason))
    written(body, f"sorted the versions of '{title_id}'", as_json)
