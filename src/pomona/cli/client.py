"""What every client command shares: profiles, the HTTP client, errors, exit codes and output.

Profiles live in ``$XDG_CONFIG_HOME/pomona/config.toml`` (``~/.config/pomona/config.toml``),
readable by the user alone. ``POMONA_URL``, ``POMONA_TOKEN`` and ``POMONA_PROFILE`` override
the file, and ``--url``/``--token``/``--profile`` override those.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
from rich.console import Console
from rich.table import Table

from pomona import __version__
from pomona.cli.hints import next_steps

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON, for scripts")]
ReasonOption = Annotated[
    str | None, typer.Option("--reason", "-m", help="Why; kept in the title's history")
]
StrictOption = Annotated[
    bool, typer.Option("--strict", help="Refuse input that would need any repair")
]

PROFILE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class Exit(IntEnum):
    """Exit statuses, documented in docs/cli.md."""

    OK = 0
    REFUSED = 1  # the server (or the local validator) refused the input
    USAGE = 2  # bad option, unreadable file, no server configured
    NOT_FOUND = 3
    DENIED = 4  # no valid token, or the token may not do this
    UNREACHABLE = 5  # no answer, or a server error (5xx)


def fail(message: str, code: Exit = Exit.USAGE) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(int(code))


def _escape(text: str) -> str:
    return text.replace("[", "\\[")


# -- profiles --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Root options; ``None`` means "not given here"."""

    profile: str | None = None
    url: str | None = None
    token: str | None = None


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pomona" / "config.toml"


def load_config() -> dict[str, Any]:
    path = config_path()
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, OSError) as exc:
        fail(f"cannot read {path}: {exc}; fix it or remove it and `pomona login` again")


def _toml_string(value: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes.
    return json.dumps(value, ensure_ascii=False)


def save_config(config: dict[str, Any]) -> Path:
    """Write the file atomically, created 0600 in a 0700 folder: it holds tokens."""
    path = config_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    lines = ["# Pomona client profiles; written by `pomona login`. Keep private: holds tokens."]
    if config.get("default"):
        lines.append(f"default = {_toml_string(config['default'])}")
    for name, profile in sorted(config.get("profiles", {}).items()):
        lines.append(f"\n[profiles.{_toml_string(name)}]")
        lines += [f"{k} = {_toml_string(str(v))}" for k, v in sorted(profile.items())]
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    os.chmod(temporary, 0o600)  # in case it existed with wider permissions
    os.replace(temporary, path)
    return path


@dataclass(frozen=True)
class Connection:
    url: str
    token: str | None
    profile: str


_current = [Target()]


def use(target: Target) -> None:
    """Set by the root command from ``--profile``/``--url``/``--token`` on every run."""
    _current[0] = target


def _target() -> Target:
    return _current[0]


def profile_name(target: Target, config: dict[str, Any]) -> str:
    return target.profile or os.environ.get("POMONA_PROFILE") or config.get("default") or "default"


def connection() -> Connection:
    target = _target()
    config = load_config()
    name = profile_name(target, config)
    saved = config.get("profiles", {}).get(name, {})
    if (target.profile or os.environ.get("POMONA_PROFILE")) and not saved:
        known = ", ".join(sorted(config.get("profiles", {}))) or "none yet"
        fail(f"no profile '{name}' in {config_path()} (profiles: {known}); `pomona login` adds one")
    url = target.url or os.environ.get("POMONA_URL") or saved.get("url")
    token = target.token or os.environ.get("POMONA_TOKEN") or saved.get("token")
    if not url:
        fail(
            "no server configured: run `pomona login URL`, or set POMONA_URL and POMONA_TOKEN "
            "(or give --url and --token)"
        )
    return Connection(url.rstrip("/"), token, name)


# -- HTTP ------------------------------------------------------------------------------------


class ApiFailure(Exception):
    def __init__(self, status: int, problems: list[dict[str, Any]]) -> None:
        self.status = status
        self.problems = problems
        super().__init__("; ".join(str(p.get("message")) for p in problems))


def problems_of(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return [p for p in body["errors"] if isinstance(p, dict)]
    text = response.text.strip()[:300] or response.reason_phrase
    return [{"path": "", "message": f"HTTP {response.status_code}: {text}"}]


def exit_for(status: int) -> Exit:
    if status == 404:
        return Exit.NOT_FOUND
    if status in (401, 403):
        return Exit.DENIED
    if status >= 500:
        return Exit.UNREACHABLE
    return Exit.REFUSED


def show_problems(
    problems: list[dict[str, Any]], *, prefix: str = "error", source: str = ""
) -> None:
    """Each problem on stderr; ``source`` names the file it came from (an import's member)."""
    colour = "red" if prefix == "error" else "yellow"
    for problem in problems:
        path = str(problem.get("path") or "")
        location = problem.get("location") or "body"
        where = f"{source}: " if source else ""
        if path:
            where += f"{path}: " if location == "body" else f"{location} {path}: "
        err.print(
            f"[{colour}]{prefix}:[/{colour}] {_escape(where + str(problem.get('message', '')))}",
            soft_wrap=True,
        )
    for step in next_steps(problems):
        err.print(f"[cyan]next:[/cyan] {_escape(step)}", soft_wrap=True)


class Api:
    """A thin httpx client for one server; turns failures into messages and exit codes."""

    def __init__(self, conn: Connection, timeout: float = 60.0) -> None:
        self.conn = conn
        headers = {"User-Agent": f"pomona-cli/{__version__}"}
        if conn.token:
            headers["Authorization"] = f"Bearer {conn.token}"
        self.http = httpx.Client(base_url=conn.url, headers=headers, timeout=timeout)

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    @contextmanager
    def reachable(self) -> Iterator[None]:
        try:
            yield
        except httpx.TransportError as exc:
            fail(
                f"cannot reach {self.conn.url}: {exc or type(exc).__name__}. Check the URL "
                "(`pomona profiles`) and that the server is running",
                Exit.UNREACHABLE,
            )

    def send(
        self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201, 204), **kwargs: Any
    ) -> httpx.Response:
        """One request; raises ``ApiFailure`` on a status outside ``ok``."""
        with self.reachable():
            response = self.http.request(method, path, **kwargs)
        if response.status_code not in ok:
            raise ApiFailure(response.status_code, problems_of(response))
        return response

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Like ``send``, but a failure ends the command with its problems and exit code."""
        try:
            return self.send(method, path, **kwargs)
        except ApiFailure as failure:
            show_problems(failure.problems)
            if failure.status == 401 and not self.conn.token:
                err.print("Log in first: `pomona login URL` (or set POMONA_TOKEN).")
            raise typer.Exit(int(exit_for(failure.status))) from None

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.call(method, path, **kwargs).json()

    def pages(self, path: str, params: dict[str, Any], per_page: int = 500) -> Iterator[Any]:
        """Every item of a paged list."""
        page = 1
        while True:
            body = self.json("GET", path, params={**params, "page": page, "perPage": per_page})
            yield from body["items"]
            if not body["items"] or body["page"] * body["perPage"] >= body["total"]:
                return
            page += 1


def api() -> Api:
    return Api(connection())


# -- input and output ------------------------------------------------------------------------


def read_document(source: str) -> Any:
    """A JSON document from a file, or from stdin for ``-``."""
    if source == "-":
        text, where = sys.stdin.read(), "stdin"
    else:
        path = Path(source)
        try:
            text, where = path.read_text(encoding="utf-8"), str(path)
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read {path}: {exc}")
    if not text.strip():
        fail(f"{where} is empty; give a JSON document")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{where} is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def done(message: str) -> None:
    """A confirmation, on stderr: stdout carries only data."""
    err.print(_escape(message), soft_wrap=True)


def warnings(body: Any) -> None:
    """The warnings of an answer; those of an import's item name the file they came from."""
    if isinstance(body, dict) and body.get("warnings"):
        source = body.get("source")
        shown = source if isinstance(source, str) else ""
        show_problems(body["warnings"], prefix="warning", source=shown)


def table(*columns: str, rows: list[list[str]]) -> None:
    view = Table(*columns)
    for row in rows:
        view.add_row(*(_escape(cell) for cell in row))
    tables().print(view)


def tables() -> Console:
    """Where tables go: on a terminal they fit its width; piped or redirected they keep every
    value whole, since a script or ``grep`` reading them cannot use ``Chronolis__AdobePho…``."""
    return out if out.is_terminal else Console(highlight=False, width=100_000)


def confirm(question: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        fail(f"{question.rstrip('?')}: add --yes to confirm when not at a terminal")
    if not typer.confirm(question):
        raise typer.Exit(int(Exit.REFUSED))


# -- profile commands ------------------------------------------------------------------------


def _verify(url: str, token: str) -> str:
    """Check the token on the server; returns what it may do, or fails with the reason."""
    conn = Connection(url.rstrip("/"), token, "")
    with Api(conn, timeout=15) as client:
        try:
            client.send("HEAD", "/jamf/v1/", ok=(200,))
        except ApiFailure:
            fail(f"{url} does not answer as a Pomona server (no /jamf/v1/); check the URL")
        try:
            client.send("GET", "/api/v1/titles", params={"perPage": 1})
            return "titles"
        except ApiFailure as failure:
            if failure.status == 403:
                return "limited"  # a valid token without titles:read (a packages token)
            show_problems(failure.problems)
            raise typer.Exit(int(exit_for(failure.status))) from None


def login(
    url: Annotated[str, typer.Argument(help="The server, e.g. https://patch.example.com")],
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            "-t",
            help="The API token; '-' reads it from stdin; asked for when not given",
        ),
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", "-p", help="Save under this name [default: default]")
    ] = None,
    make_default: Annotated[
        bool, typer.Option("--default/--no-default", help="Make it the default profile")
    ] = True,
) -> None:
    """Check a token against a server and save both as a profile."""
    if not re.match(r"^https?://", url):
        fail(f"give the URL with its scheme, e.g. https://{url}")
    if token == "-":  # noqa: S105 (the stdin marker, not a secret)
        token = sys.stdin.readline().strip()
    elif token is None:
        token = os.environ.get("POMONA_TOKEN")
        if not token and not sys.stdin.isatty():
            # Asking would read a password with no terminal to hide it on (GetPassWarning).
            fail("no terminal to ask for the token on: pass --token - and the token on stdin")
        token = token or typer.prompt("Token", hide_input=True)
    if not token:
        fail("give a token (create one on the server with `pomona token create`)")
    config = load_config()
    name = profile or _target().profile or "default"
    if not PROFILE_NAME.match(name):
        fail("--profile: use letters, digits, '.', '_' and '-'")
    allowed = _verify(url, token)
    config.setdefault("profiles", {})[name] = {"url": url.rstrip("/"), "token": token}
    if make_default or not config.get("default"):
        config["default"] = name
    path = save_config(config)
    note = "" if allowed == "titles" else " (the token cannot read titles: packages only)"
    done(f"logged in to {url.rstrip('/')} as profile '{name}'{note}; saved in {path}")


def logout(
    profile: Annotated[
        str | None, typer.Option("--profile", "-p", help="Profile to forget")
    ] = None,
) -> None:
    """Forget a profile's URL and token (the token stays valid on the server)."""
    config = load_config()
    name = profile or profile_name(_target(), config)
    if name not in config.get("profiles", {}):
        fail(f"no profile '{name}'", Exit.NOT_FOUND)
    del config["profiles"][name]
    if config.get("default") == name:
        config.pop("default")
    save_config(config)
    done(f"profile '{name}' removed; revoke its token on the server with `pomona token revoke`")


def profiles(as_json: JsonOption = False) -> None:
    """List the saved profiles (tokens are not shown)."""
    config = load_config()
    current = profile_name(_target(), config)
    rows = [
        {"name": name, "url": p.get("url", ""), "current": name == current}
        for name, p in sorted(config.get("profiles", {}).items())
    ]
    if as_json:
        print_json(rows)
        return
    table(
        "",
        "profile",
        "url",
        rows=[["*" if r["current"] else "", r["name"], r["url"]] for r in rows],
    )


def profile_commands(app: typer.Typer, panel: str) -> None:
    commands: list[Callable[..., None]] = [login, logout, profiles]
    for command in commands:
        app.command(rich_help_panel=panel)(command)
