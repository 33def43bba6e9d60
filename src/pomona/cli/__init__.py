"""The ``pomona`` command.

Client commands (``login``, ``titles``, ``versions``, ``packages``, ``starter``, ``backup``,
``restore``, ``audit``, ``webhooks``, ``events``) talk to a
server's HTTP API and need only the light dependencies, so an admin's Mac can install the client
alone. Server commands (``serve``, ``migrate``, ``token``, ...) live in ``pomona.cli.server``,
which imports the server's stack (FastAPI, SQLAlchemy); it is imported only when one of them
runs, so ``pomona --help`` and the client commands work without the ``server`` extra.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer._click.core import Command, Context
from typer.core import TyperCommand, TyperGroup

from pomona import __version__
from pomona.cli import (
    audit,
    backup,
    jamf,
    jamf_webhooks,
    namespaces,
    packages,
    peers,
    starter,
    subscriptions,
    titles,
    versions,
    webhooks,
)
from pomona.cli.client import Target, profile_commands, use

SERVER_PANEL = "Server commands (run where the server runs)"
CLIENT_PANEL = "Client commands (talk to a server over HTTP)"

# The server commands and their one-line help, listed without importing them.
# tests/cli/test_packaging.py checks this against pomona.cli.server, so a new command is not missed.
SERVER_COMMANDS = {
    "serve": "Run the server: API, Jamf feed and everything else, in one process.",
    "worker": "Run background jobs from a shared queue (when scaled out).",
    "migrate": "Bring the database schema up to date.",
    "token": "Create, list and revoke API tokens.",
    "users": "Create, list, show, disable and delete people.",
    "roles": "List the roles and what each allows.",
    "ldap": "Check sign-in through the LDAP directory.",
    "oidc": "Check single sign-on with the OpenID Connect provider.",
    "doctor": "Check settings, database, storage, queue, clock and TLS; say what to fix.",
    "feed": "Publish the Jamf feed as static files now.",
}
# Modules only the server extra installs: missing one means "install the extra", not a bug.
SERVER_MODULES = frozenset(
    {"fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "aiosqlite", "pydantic_settings"}
)


def server_group() -> TyperGroup:
    try:
        from pomona.cli import server
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in SERVER_MODULES:
            raise
        typer.echo(
            "error: this is a server command, and the server's dependencies are not installed "
            f"(no module '{exc.name}'). Install Pomona with the server extra: "
            "`pip install 'pomona[server]'`, or `uv tool install '<path or URL>[server]'`.",
            err=True,
        )
        raise typer.Exit(2) from None
    group = typer.main.get_command(server.app)
    assert isinstance(group, TyperGroup)
    return group


class _ServerCommand(TyperCommand):
    """Stands for a server command in help listings; loads the real one only when run."""

    def __init__(self, name: str, summary: str) -> None:
        super().__init__(
            name,
            help=summary,
            short_help=summary,
            add_help_option=False,
            rich_help_panel=SERVER_PANEL,
        )

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Context | None = None,
        **extra: Any,
    ) -> Context:
        real = server_group().get_command(parent or Context(self), self.name or "")
        if real is None:
            typer.echo(f"error: this server has no '{self.name}' command", err=True)
            raise typer.Exit(2)
        return real.make_context(info_name, args, parent=parent, **extra)


class _Root(TyperGroup):
    def list_commands(self, ctx: Context) -> list[str]:
        return [*SERVER_COMMANDS, *super().list_commands(ctx)]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is None and cmd_name in SERVER_COMMANDS:
            return _ServerCommand(cmd_name, SERVER_COMMANDS[cmd_name])
        return found


app = typer.Typer(
    cls=_Root,
    help="Pomona: patch source, distribution point and Jamf Pro companion.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit")] = False,
    profile: Annotated[
        str | None,
        typer.Option("--profile", "-p", help="Client profile to use", envvar="POMONA_PROFILE"),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option("--url", help="Server URL, overriding the profile", envvar="POMONA_URL"),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", help="API token, overriding the profile", envvar="POMONA_TOKEN"),
    ] = None,
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()
    use(Target(profile=profile, url=url, token=token))


profile_commands(app, panel=CLIENT_PANEL)
app.add_typer(titles.app, name="titles", rich_help_panel=CLIENT_PANEL)
app.add_typer(versions.app, name="versions", rich_help_panel=CLIENT_PANEL)
app.add_typer(packages.app, name="packages", rich_help_panel=CLIENT_PANEL)
app.add_typer(namespaces.app, name="namespaces", rich_help_panel=CLIENT_PANEL)
app.add_typer(subscriptions.app, name="subscriptions", rich_help_panel=CLIENT_PANEL)
titles.app.command("subscribe")(subscriptions.subscribe)
jamf.app.add_typer(jamf_webhooks.app, name="webhook")
app.add_typer(jamf.app, name="jamf", rich_help_panel=CLIENT_PANEL)
app.command("starter", rich_help_panel=CLIENT_PANEL)(starter.starter)
app.add_typer(backup.backup_app, name="backup", rich_help_panel=CLIENT_PANEL)
app.command("restore", rich_help_panel=CLIENT_PANEL)(backup.restore)
app.command("audit", rich_help_panel=CLIENT_PANEL)(audit.audit)
app.add_typer(webhooks.app, name="webhooks", rich_help_panel=CLIENT_PANEL)
app.add_typer(webhooks.events_app, name="events", rich_help_panel=CLIENT_PANEL)
app.add_typer(peers.app, name="peers", rich_help_panel=CLIENT_PANEL)


def main() -> None:
    from pomona.cli import helptext

    helptext.install()
    app()


__all__ = ["SERVER_COMMANDS", "app", "main"]
