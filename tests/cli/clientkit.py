"""Running the client commands as a user does: a separate process, its own config folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import Server

CLIENT_VARIABLES = ("POMONA_URL", "POMONA_TOKEN", "POMONA_PROFILE")


def client_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLIENT_VARIABLES}
    return {**env, "XDG_CONFIG_HOME": str(home / "config"), "NO_COLOR": "1", **extra}


def run(
    env: dict[str, str], *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pomona", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def admin_token(server: Server, name: str = "admin", *scopes: str) -> str:
    made = server.pomona(
        "token", "create", "--name", name, *[f"--scope={s}" for s in scopes or ("admin",)]
    )
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def logged_in(server: Server, home: Path) -> dict[str, str]:
    env = client_env(home)
    done = run(env, "login", server.url, "--token", "-", stdin=admin_token(server) + "\n")
    assert done.returncode == 0, done.stderr
    return env
