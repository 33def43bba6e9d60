"""``pomona doctor``'s report: one line per check, and for each failure what to fix."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from pomona.ops.doctor import examine
from pomona.settings import Settings


def run(settings: Settings, config: Path | None) -> None:
    if config is not None:
        source = f"settings from {config.resolve()} and the environment"
    elif os.environ.get("POMONA_CONFIG"):
        source = f"settings from {os.environ['POMONA_CONFIG']} and the environment"
    else:
        source = "settings from the environment and the defaults (no config file)"
    out = Console(highlight=False, soft_wrap=True)
    findings = examine(settings, source)
    for finding in findings:
        mark = "[green]ok[/green]  " if finding.ok else "[red]FAIL[/red]"
        out.print(f"{mark} {finding.name:<10} {escape(finding.detail)}")
        if finding.fix:
            out.print(f"     {'':<10} fix: {escape(finding.fix)}")
    failed = [f.name for f in findings if not f.ok]
    if failed:
        out.print(f"{len(failed)} of {len(findings)} checks failed: {', '.join(failed)}")
        raise typer.Exit(1)
    out.print(f"all {len(findings)} checks passed")
