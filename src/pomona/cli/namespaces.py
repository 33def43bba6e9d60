"""``pomona namespaces``: list, show, create, edit and delete namespaces (publishers), each with a
Jamf feed of its own; and the ``--namespace`` option of the title commands."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import typer

from pomona.cli.client import JsonOption, api, confirm, done, out, print_json, table

app = typer.Typer(
    help="Namespaces (publishers), each with its own Jamf feed: list, show, create, edit, delete.",
    no_args_is_help=True,
)

SlugArg = Annotated[
    str, typer.Argument(help="The namespace's slug (lower-case letters, digits and '-')")
]
NamespaceOption = Annotated[
    str | None,
    typer.Option(
        "--namespace",
        "-n",
        help="The namespace (publisher); by default your token's only one, else the main feed's",
    ),
]
DecorateOption = Annotated[
    bool | None,
    typer.Option(
        "--decorate-ids/--plain-ids",
        help="Show ids on the feed as '<id>_<Slug>' and names as '<name> (<display name>)'",
    ),
]


def with_namespace(found: dict[str, Any], namespace: str | None) -> dict[str, Any]:
    """Query parameters with ``namespace`` added when one is given."""
    return {**found, "namespace": namespace} if namespace is not None else found


def _path(slug: str) -> str:
    return f"/api/v1/namespaces/{quote(slug, safe='')}"


def _show(item: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(item)
        return
    out.print(f"[bold]{item['displayName']}[/bold] ({item['slug']})")
    out.print(f"feed: {item['feed']}  (give Jamf Pro this path on the server)")
    out.print(f"decorated ids: {'yes' if item['decorateIds'] else 'no'}; titles: {item['titles']}")


@app.command("list")
def list_namespaces(as_json: JsonOption = False) -> None:
    """Every namespace and its feed, the default (the main feed) first."""
    with api() as client:
        items = client.json("GET", "/api/v1/namespaces")["items"]
    if as_json:
        print_json(items)
        return
    table(
        "slug",
        "display name",
        "feed",
        "decorated",
        "titles",
        rows=[
            [
                i["slug"],
                i["displayName"],
                i["feed"],
                "yes" if i["decorateIds"] else "no",
                str(i["titles"]),
            ]
            for i in items
        ],
    )


@app.command()
def show(slug: SlugArg, as_json: JsonOption = False) -> None:
    """One namespace: its feed path, decoration and how many titles it holds."""
    with api() as client:
        _show(client.json("GET", _path(slug)), as_json)


@app.command()
def create(
    slug: SlugArg,
    display_name: Annotated[str, typer.Option("--display-name", help="The publisher's name")],
    decorate: DecorateOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a namespace (admin); its feed is served at once."""
    body = {"slug": slug, "displayName": display_name, "decorateIds": bool(decorate)}
    with api() as client:
        created = client.json("POST", "/api/v1/namespaces", json=body, ok=(201,))
    if as_json:
        print_json(created)
        return
    done(f"created namespace '{slug}'; its feed is {created['feed']}")


@app.command()
def edit(
    slug: SlugArg,
    display_name: Annotated[
        str | None, typer.Option("--display-name", help="A new display name")
    ] = None,
    decorate: DecorateOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a namespace's display name or decoration (admin); the slug never changes."""
    body = {"displayName": display_name, "decorateIds": decorate}
    with api() as client:
        edited = client.json(
            "PATCH", _path(slug), json={k: v for k, v in body.items() if v is not None}
        )
    if as_json:
        print_json(edited)
        return
    done(f"edited namespace '{slug}'")


@app.command()
def delete(
    slug: SlugArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask")] = False,
) -> None:
    """Delete an empty namespace (admin); one that holds titles is refused with their ids."""
    confirm(f"Delete namespace '{slug}' and its feed?", yes)
    with api() as client:
        client.call("DELETE", _path(slug))
    done(f"deleted namespace '{slug}'")
