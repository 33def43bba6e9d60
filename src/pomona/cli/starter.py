"""``pomona starter``: write a definition (or one version) from an app, a zip, a .pkg or a plist."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pomona.cli.client import (
    Exit,
    ReasonOption,
    api,
    done,
    err,
    fail,
    print_json,
    show_problems,
)
from pomona.cli.titles import params, path_of, written

# The generator pulls in the definition models (pydantic); import it only when it runs, so that
# every other command starts fast.
if TYPE_CHECKING:
    from pomona.titles.starter import ExtensionAttribute, Generated, Options


def _extension_attribute(spec: str) -> ExtensionAttribute:
    from pomona.titles.starter import ExtensionAttribute

    key, sep, rest = spec.partition("=")
    # KEY=FILE:Display name, unless the colon is part of an existing file's name.
    script, _, display = (rest, "", "") if Path(rest).exists() else rest.rpartition(":")
    if not script:
        script, display = display, ""
    if not sep or not key or not script:
        fail(f"--ea {spec}: give KEY=SCRIPT_FILE or KEY=SCRIPT_FILE:Display name")
    try:
        text = Path(script).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"--ea {key}: cannot read the script {script}: {exc}")
    return ExtensionAttribute(key, text, display or None)


def generated(path: Path, options: Options | None = None, *, patch_only: bool = False) -> Generated:
    """Run the generator; its problems end the command like a server's would."""
    from pomona.errors import Invalid
    from pomona.titles.starter import Options, StarterError, generate_from

    try:
        result = generate_from(path, options or Options())
    except StarterError as exc:
        fail(str(exc))
    except Invalid as exc:
        show_problems([p.as_dict() for p in exc.problems])
        raise typer.Exit(int(Exit.REFUSED)) from None
    # Guesses concern the title (publisher, id); a lone version carries neither.
    for guess in [] if patch_only else result.guessed:
        err.print(f"[yellow]note:[/yellow] guessed {guess}", soft_wrap=True)
    return result


def starter(
    path: Annotated[
        Path, typer.Argument(help="An .app bundle, a zipped .app, an Info.plist or a flat .pkg")
    ],
    patch_only: Annotated[
        bool, typer.Option("--patch-only", help="Only the version, for `pomona versions add`")
    ] = False,
    publisher: Annotated[
        str | None, typer.Option(help="Publisher [default: from the bundle id]")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Title name [default: CFBundleName]")] = None,
    title_id: Annotated[
        str | None, typer.Option("--id", help="Title id [default: the name without spaces]")
    ] = None,
    app_version: Annotated[
        str | None,
        typer.Option("--app-version", help="Version [default: CFBundleShortVersionString]"),
    ] = None,
    min_os: Annotated[
        str | None, typer.Option("--min-os", help="Minimum macOS [default: LSMinimumSystemVersion]")
    ] = None,
    bundle_id: Annotated[
        str | None, typer.Option("--bundle-id", help="[default: CFBundleIdentifier]")
    ] = None,
    release_date: Annotated[
        str | None,
        typer.Option("--release-date", help="e.g. 2024-06-03T10:00:00Z [default: the app's date]"),
    ] = None,
    ea: Annotated[
        list[str] | None,
        typer.Option(
            "--ea",
            help="Extension attribute KEY=SCRIPT_FILE[:Display name]; repeat for several. "
            "The first one reports the version",
        ),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file")] = None,
    publish: Annotated[
        bool,
        typer.Option(
            "--publish", help="Send it to the server: create the title (or add the version)"
        ),
    ] = False,
    reason: ReasonOption = None,
) -> None:
    """Generate a definition from an app, valid by Pomona's validator; print it as JSON."""
    from pomona.titles.starter import Options

    options = Options(
        name=name,
        title_id=title_id,
        publisher=publisher,
        version=app_version,
        minimum_os=min_os,
        release_date=release_date,
        bundle_id=bundle_id,
        extension_attributes=[_extension_attribute(e) for e in ea or []],
    )
    result = generated(path, options, patch_only=patch_only)
    document = result.patch if patch_only else result.definition
    if output is not None:
        output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        done(f"wrote {output}")
    if publish:
        with api() as client:
            if patch_only:
                target = f"{path_of(str(result.definition['id']))}/versions"
                body = client.json("POST", target, json=document, params=params(reason=reason))
                written(body, f"added version {document['version']} to '{body['id']}'", False)
            else:
                body = client.json(
                    "POST", "/api/v1/titles", json=document, params=params(reason=reason)
                )
                written(body, f"created title '{body['id']}'", False)
    elif output is None:
        print_json(document)
