"""The client installs and runs alone: no server module is imported by ``--help`` or a client
command, and a wheel installed without extras works against a running server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from pomona.cli import SERVER_COMMANDS
from pomona.cli.server import app as server_app
from tests.cli.clientkit import admin_token, client_env
from tests.conftest import Server
from tests.fixtures.macapps import make_app

ROOT = Path(__file__).resolve().parents[2]
SERVER_ONLY = ("fastapi", "sqlalchemy", "uvicorn", "alembic", "pomona.app", "pomona.cli.server")


def test_every_server_command_is_listed_without_importing_it() -> None:
    group = typer.main.get_command(server_app)
    assert set(group.commands) == set(SERVER_COMMANDS)  # type: ignore[attr-defined]


def test_help_and_client_commands_import_no_server_module(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['pomona', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('pomona', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"bad = [m for m in {SERVER_ONLY!r} if m in sys.modules]\n"
        "print('server modules:', bad, file=sys.stderr)\n"
    )
    for args in (["--help"], ["starter", str(app), "--publisher", "Ex"], ["titles", "--help"]):
        done = subprocess.run(
            [sys.executable, "-c", probe, *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=client_env(tmp_path),
        )
        assert "server modules: []" in done.stderr, (args, done.stderr)


@pytest.mark.slow
def test_the_wheel_without_extras_is_a_working_client(server: Server, tmp_path: Path) -> None:
    uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    if uv is None:
        pytest.skip("uv is not on the PATH")
    dist = tmp_path / "dist"
    built = subprocess.run(
        [uv, "build", "--wheel", "--out-dir", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    wheel = next(dist.glob("pomona-*.whl"))
    venv = tmp_path / "venv"
    env = {
        k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")
    }
    for step in (
        [uv, "venv", "--python", sys.executable, str(venv)],
        [uv, "pip", "install", "--python", str(venv / "bin" / "python"), str(wheel)],
    ):
        made = subprocess.run(
            step, capture_output=True, text=True, timeout=300, check=False, env=env
        )
        assert made.returncode == 0, made.stderr
    pomona = str(venv / "bin" / "pomona")
    clean = client_env(tmp_path)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [pomona, *args], capture_output=True, text=True, timeout=60, check=False, env=clean
        )

    python = str(venv / "bin" / "python")
    for module in ("fastapi", "sqlalchemy", "uvicorn"):
        absent = subprocess.run(
            [python, "-c", f"import {module}"], capture_output=True, check=False
        )
        assert absent.returncode != 0, module
    assert run("--help").returncode == 0
    serve = run("serve")
    assert serve.returncode == 2
    assert "pomona[server]" in serve.stderr
    token = admin_token(server)
    assert run("login", server.url, "--token", token).returncode == 0
    generated = run("starter", str(make_app(tmp_path)), "--publisher", "Example Corp", "--publish")
    assert generated.returncode == 0, generated.stderr
    listed = run("titles", "list")
    assert listed.returncode == 0, listed.stderr
    assert "Example Corp" in listed.stdout
