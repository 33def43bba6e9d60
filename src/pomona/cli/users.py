"""Server-side ``pomona users`` and ``pomona roles``: people, managed on the server's machine.

They call the accounts service on the server's database, as ``pomona token`` does, so the first
admin can be made before anyone can sign in.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pomona.accounts.people import AccountService
from pomona.accounts.roles import ROLES
from pomona.accounts.values import AccountEdit, AccountInfo
from pomona.audit.service import Who
from pomona.auth.scopes import expand
from pomona.cli.server import ConfigOption, _settings, _with_database, err
from pomona.db import Database

app: typer.Typer = typer.Typer(
    help="Create, list, show, disable and delete people.", no_args_is_help=True
)

Name = Annotated[str, typer.Argument(help="The username")]
PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin"),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]


def _password(from_stdin: bool) -> str:
    """From stdin when asked; else prompted (twice) on a terminal; else refused."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        err.print(
            "[red]error:[/red] no terminal to ask on: pass the password with --password-stdin"
        )
        raise typer.Exit(2)
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _run(config: Path | None, work: Any) -> Any:
    return _with_database(_settings(config), work)


def _as_dict(info: AccountInfo) -> dict[str, Any]:
    return {
        "username": info.username,
        "displayName": info.display_name,
        "email": info.email,
        "source": info.source,
        "disabled": info.disabled,
        "roles": info.roles,
        "totp": info.totp,
        "createdAt": info.created_at.isoformat(),
        "lastSignInAt": info.last_signin_at.isoformat() if info.last_signin_at else None,
    }


@app.command("create")
def create(
    name: Name,
    admin: Annotated[bool, typer.Option("--admin", help="Give the admin role")] = False,
    role: Annotated[
        list[str] | None,
        typer.Option("--role", help="A role spec (editor, publisher@NAMESPACE...); repeatable"),
    ] = None,
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
    email: Annotated[str | None, typer.Option("--email")] = None,
    password_stdin: PasswordStdin = False,
    config: ConfigOption = None,
) -> None:
    """Create a local account; the password is asked for on a terminal."""
    roles = [*(["admin"] if admin else []), *(role or [])]
    password = _password(password_stdin)

    async def work(db: Database) -> AccountInfo:
        return await AccountService(db).create(
            name,
            password,
            display_name=display_name,
            email=email,
            roles_=roles,
            who=Who.command_line(),
        )

    made = _run(config, work)
    err.print(f"account '{made.username}' created with roles: {', '.join(made.roles) or 'none'}")


@app.command("list")
def list_users(as_json: AsJson = False, config: ConfigOption = None) -> None:
    """Every account, with its roles."""

    async def work(db: Database) -> list[AccountInfo]:
        return await AccountService(db).list_accounts()

    found: list[AccountInfo] = _run(config, work)
    if as_json:
        typer.echo(json.dumps([_as_dict(a) for a in found], indent=2))
        return
    table = Table("username", "name", "source", "roles", "state", "last sign-in")
    for a in found:
        table.add_row(
            a.username,
            a.display_name,
            a.source,
            ", ".join(a.roles) or "none",
            "disabled" if a.disabled else "enabled",
            f"{a.last_signin_at:%Y-%m-%d %H:%M}" if a.last_signin_at else "never",
        )
    Console().print(table)


@app.command("show")
def show(name: Name, as_json: AsJson = False, config: ConfigOption = None) -> None:
    """One account."""

    async def work(db: Database) -> AccountInfo:
        return await AccountService(db).get(name)

    found = _as_dict(_run(config, work))
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    for key, value in found.items():
        typer.echo(f"{key}: {value}")


def _edit(config: Path | None, name: str, edit: AccountEdit, said: str) -> None:
    async def work(db: Database) -> None:
        await AccountService(db).edit(name, edit, who=Who.command_line())

    _run(config, work)
    err.print(f"account '{name}' {said}")


@app.command("disable")
def disable(name: Name, config: ConfigOption = None) -> None:
    """Disable an account: its sessions end and its personal tokens stop at once."""
    _edit(config, name, AccountEdit(disabled=True), "disabled")


@app.command("enable")
def enable(name: Name, config: ConfigOption = None) -> None:
    """Enable a disabled account."""
    _edit(config, name, AccountEdit(disabled=False), "enabled")


@app.command("reset-password")
def reset_password(
    name: Name, password_stdin: PasswordStdin = False, config: ConfigOption = None
) -> None:
    """Set a new password; the person's sessions end and any lockout is lifted."""
    password = _password(password_stdin)

    async def work(db: Database) -> None:
        await AccountService(db).reset_password(name, password, who=Who.command_line())

    _run(config, work)
    err.print(f"password of '{name}' reset")


@app.command("delete")
def delete(
    name: Name,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
    config: ConfigOption = None,
) -> None:
    """Delete an account, its sessions and its personal tokens."""
    if not yes and not typer.confirm(f"Delete the account '{name}'?"):
        raise typer.Exit(1)

    async def work(db: Database) -> None:
        await AccountService(db).delete(name, who=Who.command_line())

    _run(config, work)
    err.print(f"account '{name}' deleted")


def roles() -> None:
    """List the roles and what each allows."""
    table = Table("role", "scopes", "allows")
    for role in ROLES.values():
        spec = f"{role.name}@NAMESPACE" if role.needs_namespace else role.name
        table.add_row(spec, " ".join(sorted(expand(role.scopes))), role.summary)
    Console().print(table)
    typer.echo(
        "Limit a role to namespaces with @ns1,ns2 and to titles with :Title1,Title2, "
        "e.g. editor@mac-team:Firefox."
    )
