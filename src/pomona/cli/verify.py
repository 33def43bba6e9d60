"""``pomona backup verify FILE``'s report."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.markup import escape

from pomona.cli.client import Exit, done, err, fail


def run(file: Path) -> None:
    if not file.is_file():
        fail(f"{file}: no such file")
    try:
        from pomona.ops.verify_http import verify
    except ModuleNotFoundError as exc:
        fail(
            f"verifying restores into a scratch database, which needs the server extra (no "
            f"module '{exc.name}'): `pip install 'pomona[server]'`"
        )
    verdict = asyncio.run(verify(file.read_bytes(), str(file)))
    for line in verdict.checked:
        done(f"ok: {line}")
    for problem in verdict.problems:
        err.print(f"[red]differs:[/red] {escape(problem)}", soft_wrap=True, highlight=False)
    if not verdict.ok:
        raise typer.Exit(int(Exit.REFUSED))
    done(f"{file}: the backup restores completely")
