"""Server-side commands: they run on the server's machine and call services directly."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from pomona import __version__
from pomona.audit.service import Who
from pomona.auth.scopes import SCOPES
from pomona.auth.service import TokenService
from pomona.cli import where
from pomona.db import Database
from pomona.errors import DomainError
from pomona.migrations import upgrade
from pomona.settings import Settings, load_settings

T = TypeVar("T")

app = typer.Typer(
    help="Pomona: patch source, distribution point and Jamf Pro companion.",
    no_args_is_help=True,
    add_completion=False,
)
token_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
ldap_app = typer.Typer(help="Check sign-in through the LDAP directory.", no_args_is_help=True)
app.add_typer(ldap_app, name="ldap")
oidc_app = typer.Typer(
    help="Check single sign-on with the OpenID Connect provider.", no_args_is_help=True
)
app.add_typer(oidc_app, name="oidc")
feed_app = typer.Typer(help="Publish the Jamf feed as static files.", no_args_is_help=True)
app.add_typer(feed_app, name="feed")

err = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="TOML settings file (default: $POMONA_CONFIG)", envvar=None
    ),
]


def _settings(config: Path | None, **overrides: Any) -> Settings:
    try:
        return load_settings(config, **{k: v for k, v in overrides.items() if v is not None})
    except (FileNotFoundError, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def _with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work`` against a migrated database, turning API errors into a message and exit 1."""

    async def run() -> T:
        db = Database(settings.resolved_database_url)
        try:
            await upgrade(db, settings=settings)
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(run())
    except DomainError as exc:
        for problem in exc.problems:
            where = f"{_option(problem.path)}: " if problem.path else ""
            err.print(f"[red]error:[/red] {where}{problem.message}", highlight=False)
        raise typer.Exit(1) from None
    except (SQLAlchemyError, OSError) as exc:
        url = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        err.print(
            f"[red]error:[/red] cannot use the database at {url}: {reason}\n"
            "Check database_url (POMONA_DATABASE_URL or the --config file) and that the "
            "database server is running.",
            highlight=False,
        )
        raise typer.Exit(1) from None


# Services locate problems by JSON pointer into an API body; on the command line, name the option.
_OPTIONS = {"name": "--name", "scopes": "--scope", "titles": "--title"}


def _option(path: str) -> str:
    head = path.split("/")[1] if path.startswith("/") else path
    return _OPTIONS.get(head, path)


DataDirOption = Annotated[Path | None, typer.Option(help="Data directory [default: ./pomona-data]")]


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit")] = False,
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Address to bind [default: 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [default: 8000]")] = None,
    data_dir: DataDirOption = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Server processes on the one port [default: 1]"),
    ] = None,
    server: Annotated[
        str | None, typer.Option(help="HTTP server: granian or uvicorn [default: granian]")
    ] = None,
) -> None:
    """Run the server: API, Jamf feed and everything else."""
    from pomona import servers

    overrides = {
        "host": host,
        "port": port,
        "data_dir": data_dir,
        "workers": workers,
        "server": server,
    }
    settings = _settings(config, **overrides)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    base = f"http://{settings.host}:{settings.port}"
    # soft_wrap: a URL cut in two at the terminal's width cannot be copied.
    err.print(
        f"Pomona {__version__}: Jamf feed at {base}/jamf/v1, API docs at {base}/docs, "
        f"health at {base}/readyz",
        soft_wrap=True,
        highlight=False,
    )
    servers.serve(
        settings,
        config=config,
        overrides=overrides,
        migrate=lambda: migrate(config=config, data_dir=data_dir),
    )


@app.command()
def worker(
    config: ConfigOption = None,
    workers: Annotated[
        int, typer.Option("--workers", "-w", min=1, max=64, help="Worker threads")
    ] = 2,
) -> None:
    """Run background jobs from a shared queue (when scaled out).

    Start as many as needed on any machine sharing the database, the package storage and the
    queue (queue_url); set queue_embedded_workers = 0 on the web processes.
    """
    import logging

    from pomona.queue.service import QueueNotReady
    from pomona.tasks import build_queue

    settings = _settings(config)
    logging.basicConfig(
        level=settings.log_level.upper() if settings.log_level != "trace" else "DEBUG",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        tasks = build_queue(settings)
    except (QueueNotReady, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    err.print(f"Pomona {__version__} worker {tasks.queue.worker_id}: {workers} threads")
    tasks.queue.run(workers)


@app.command()
def migrate(config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Bring the database schema up to date (serve does this on start unless told not to)."""
    settings = _settings(config, data_dir=data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def done(_db: Database) -> None:
        return None

    new = where.is_new(settings)
    _with_database(settings, done)
    err.print(where.migrated(settings, new), highlight=False, soft_wrap=True)


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option("--name", help="A name to recognise the token by")],
    scope: Annotated[
        list[str],
        typer.Option("--scope", help=f"Repeat for several: {', '.join(SCOPES)}"),
    ],
    title: Annotated[
        list[str] | None,
        typer.Option("--title", help="Limit writes to this title id; repeat for several"),
    ] = None,
    namespace: Annotated[
        list[str] | None,
        typer.Option(
            "--namespace",
            help="Limit title writes to this namespace (publisher); repeat for several",
        ),
    ] = None,
    expires_days: Annotated[
        int | None, typer.Option("--expires-days", min=1, help="Expire after this many days")
    ] = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Create a token and print it alone on stdout. It is shown once; only its hash is kept."""
    settings = _settings(config, data_dir=data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    expires = datetime.now(UTC) + timedelta(days=expires_days) if expires_days else None

    async def create(db: Database) -> str:
        _, secret = await TokenService(db).create(
            name,
            scope,
            titles=title or None,
            expires_at=expires,
            who=Who.command_line(),
            namespaces=namespace or None,
        )
        return secret

    new = where.is_new(settings)
    secret = _with_database(settings, create)
    typer.echo(secret)
    if new:
        err.print(where.new_database_warning(settings), highlight=False, soft_wrap=True)
    if sys.stderr.isatty():
        err.print("[dim]Keep it safe: it cannot be shown again.[/dim]")


@token_app.command("list")
def token_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    config: ConfigOption = None,
) -> None:
    """List tokens (names, scopes, use), never their secrets."""
    settings = _settings(config)

    async def fetch(db: Database) -> list[Any]:
        return await TokenService(db).list_tokens()

    tokens = _with_database(settings, fetch)
    if as_json:
        rows = [
            {
                "name": t.name,
                "scopes": t.scopes,
                "titles": t.titles,
                "namespaces": t.namespaces,
                "createdAt": t.created_at.isoformat(),
                "lastUsedAt": t.last_used_at.isoformat() if t.last_used_at else None,
                "expiresAt": t.expires_at.isoformat() if t.expires_at else None,
            }
            for t in tokens
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("name", "scopes", "titles", "namespaces", "created", "last used", "expires")
    for t in tokens:
        table.add_row(
            t.name,
            " ".join(t.scopes),
            ", ".join(t.titles) if t.titles is not None else "all",
            ", ".join(t.namespaces) if t.namespaces is not None else "all",
            f"{t.created_at:%Y-%m-%d %H:%M}",
            f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never",
            f"{t.expires_at:%Y-%m-%d}" if t.expires_at else "never",
        )
    Console().print(table)


@token_app.command("revoke")
def token_revoke(
    name: Annotated[str, typer.Argument(help="The token's name")],
    config: ConfigOption = None,
) -> None:
    """Revoke a token at once."""
    settings = _settings(config)

    async def revoke(db: Database) -> None:
        await TokenService(db).revoke(name, who=Who.command_line())

    _with_database(settings, revoke)
    err.print(f"token '{name}' revoked")


@app.command()
def doctor(config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Check the settings, database, migrations, storage, queue, clock and TLS in front; say
    what to fix. Exits 1 when a check fails."""
    from pomona.cli.doctor import run

    run(_settings(config, data_dir=data_dir), config)


@feed_app.command("publish")
def feed_publish(config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Publish the Jamf feed of every namespace to static_feed_dir or static_feed_url now. The
    server publishes on every change by itself; this is for a first fill or a target emptied."""
    from pomona.titles.publishing import publish_now

    settings = _settings(config, data_dir=data_dir)
    if settings.static_feed_dir is None and not settings.static_feed_url:
        err.print(
            "[red]error:[/red] no static feed is set: set static_feed_dir (a directory) or "
            "static_feed_url (s3://bucket/prefix)",
            highlight=False,
        )
        raise typer.Exit(2)
    done = _with_database(settings, lambda db: publish_now(settings, db))
    assert done is not None  # a target is set
    typer.echo(
        f"published the feed to {done.where}: {done.written} files written, "
        f"{done.unchanged} unchanged, {done.removed} removed"
        + (" (a newer feed was already there)" if done.skipped else "")
    )


# At the end: the people commands use this module's helpers.
from pomona.cli import users as _users  # noqa: E402

app.add_typer(_users.app, name="users")
app.command("roles")(_users.roles)


@ldap_app.command("test")
def ldap_test(
    username: Annotated[str, typer.Argument(help="The name a person signs in with")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Also check the password read from stdin")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Show what sign-in finds for USERNAME: the entry, its groups and the roles they map to."""
    from pomona.cli.ldap import report  # ldap3 is loaded only for this command

    raise typer.Exit(report(_settings(config), username, sys.stdin if password_stdin else None))


@oidc_app.command("test")
def oidc_test(config: ConfigOption = None) -> None:
    """Read the provider's discovery document and keys; show what sign-in will use."""
    from pomona.cli.oidc import report

    raise typer.Exit(report(_settings(config)))
