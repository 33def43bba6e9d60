"""``pomona audit``: who changed what, when, from where (needs an admin token)."""

from __future__ import annotations

from itertools import islice
from typing import Annotated

import typer

from pomona.cli.client import JsonOption, api, print_json
from pomona.cli.titles import log_table, params

PAGE = 500


def audit(
    actor: Annotated[str | None, typer.Option(help="e.g. token:autopkg")] = None,
    action: Annotated[
        str | None, typer.Option(help="e.g. title.delete, or title.* for every title action")
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="e.g. title:Firefox, or title:* for every title")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="From this time, ISO-8601, e.g. 2026-11-01T00:00:00Z")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Up to this time, ISO-8601")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Most events shown")] = 50,
    as_json: JsonOption = False,
) -> None:
    """The server's audit log, newest first: every write, by whom, from where."""
    query = params(actor=actor, action=action, target=target, since=since, until=until)
    with api() as client:
        events = list(islice(client.pages("/api/v1/audit", query, min(limit, PAGE)), limit))
    if as_json:
        print_json(events)
        return
    log_table(
        ("when", "actor", "action", "target", "client"),
        ("detail",),
        [
            [
                e["at"],
                e["actor"],
                e["action"],
                e["target"],
                e["client"] or "",
                e["detail"] or "",
            ]
            for e in events
        ],
    )
