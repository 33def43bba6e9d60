"""``pomona backup`` and ``pomona restore``: every title in one zip, and back."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path
from typing import Annotated

import typer

from pomona.cli.client import (
    JsonOption,
    api,
    done,
    exit_for,
    fail,
    problems_of,
    show_problems,
)
from pomona.cli.namespaces import with_namespace
from pomona.cli.packages import progress
from pomona.cli.titles import DryRunOption, Policy, PolicyOption, import_report

ZIP_MAGIC = b"PK\x03\x04"


def _default_name() -> Path:
    return Path(time.strftime("pomona-backup-%Y%m%d-%H%M%S.zip"))


def _default_target() -> Path:
    """A new zip in ``~/pomona-backups``, not the current directory: that is often a clone of
    a repository, where a stray zip shows in ``git status`` (and gets committed)."""
    folder = Path.home() / "pomona-backups"
    folder.mkdir(exist_ok=True)
    return folder / _default_name()


def backup(
    ctx: typer.Context,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="The zip, or a directory for it (default: ~/pomona-backups/pomona-backup-"
            "<date>-<time>.zip)",
        ),
    ] = None,
    history: Annotated[
        bool, typer.Option("--history", help="Include every revision of every title")
    ] = False,
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="Only this namespace's titles")
    ] = None,
) -> None:
    """Download a backup of every title: a zip in PatchServer's layout, plus Pomona's state.
    `pomona backup verify FILE` checks one."""
    if ctx.invoked_subcommand is not None:
        return  # `backup verify`: the subcommand does the work
    target = output or _default_target()
    if target.is_dir():
        target = target / _default_name()
    # Written beside the target and renamed when complete: a broken transfer never leaves a
    # truncated zip under the name a restore would be given.
    partial = target.with_name(target.name + ".part")
    query = with_namespace({"history": "true"} if history else {}, namespace)
    with (
        api() as client,
        client.reachable(),
        client.http.stream("GET", "/api/v1/backups", params=query) as response,
    ):
        if response.status_code != 200:
            response.read()
            show_problems(problems_of(response))
            raise typer.Exit(int(exit_for(response.status_code)))
        length = response.headers.get("content-length")
        with progress() as bar, partial.open("wb") as handle:
            task = bar.add_task("backup", total=int(length) if length else None)
            for chunk in response.iter_bytes(1024 * 1024):
                handle.write(chunk)
                bar.advance(task, len(chunk))
    try:
        with zipfile.ZipFile(partial) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile:
        partial.unlink(missing_ok=True)
        fail("the server's answer is not a complete zip; run the command again")
    partial.replace(target)
    titles = sum(n.startswith("patch_archive/") and n.endswith(".json") for n in names)
    extra = " with their history" if history else ""
    done(f"backed up {titles} title(s){extra} to {target} ({target.stat().st_size} bytes)")


def restore(
    file: Annotated[
        Path, typer.Argument(help="A backup zip (or any zip of definitions, or a JSON file)")
    ],
    policy: PolicyOption = Policy.SKIP,
    dry_run: DryRunOption = False,
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            "-n",
            help="Restore every title into this namespace [default: where the backup kept each]",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Restore a backup: everything is validated first, then written together, or nothing is."""
    try:
        handle = file.open("rb")
    except OSError as exc:
        fail(f"cannot read {file}: {exc}")
    with handle, api() as client:
        kind = "application/zip" if handle.read(4) == ZIP_MAGIC else "application/json"
        handle.seek(0)
        body = client.json(
            "POST",
            "/api/v1/backups/restore",
            content=handle,
            headers={"Content-Type": kind},
            params=with_namespace(
                {"policy": policy.value, "dryRun": str(dry_run).lower()}, namespace
            ),
        )
    import_report(body, as_json)


# ``pomona backup`` downloads a backup; ``pomona backup verify FILE`` checks one.
backup_app = typer.Typer(add_completion=False)
backup_app.callback(invoke_without_command=True)(backup)


@backup_app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="A backup zip (scheduled or downloaded)")],
) -> None:
    """Restore FILE into a scratch database on this machine and compare it, title by title,
    with the file; exits 1 when anything differs. Needs the server extra; touches no server."""
    from pomona.cli.verify import run

    run(file)
