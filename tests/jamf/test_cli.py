"""``pomona jamf`` as an admin uses it, against a real server and the Jamf Pro simulator."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.cli.clientkit import admin_token, client_env, run
from tests.conftest import serving
from tests.fixtures.jamf_pro_run import Simulator
from tests.jamf.conftest import MiB, payload, server_env

pytestmark = pytest.mark.slow


def test_an_admin_adds_checks_pushes_deletes_and_connects(jamf: Simulator, tmp_path: Path) -> None:
    env = {**server_env(jamf), "POMONA_PUBLIC_URL": "https://pomona.example.com"}
    with serving(tmp_path, **env) as server:
        token = admin_token(server)
        data = payload(7 * MiB, seed=21)
        headers = {"Authorization": f"Bearer {token}"}
        put = httpx.put(f"{server.url}/api/v1/packages/Tool.pkg", content=data, headers=headers)
        assert put.status_code == 201
        admin = client_env(tmp_path / "admin", POMONA_URL=server.url, POMONA_TOKEN=token)

        missing = run(admin, "jamf", "push", "Tool.pkg", "--to", "prod")
        assert missing.returncode == 3
        assert "pomona jamf connection add" in missing.stderr
        added = run(
            admin,
            *("jamf", "connection", "add", "prod", jamf.url, "--client-id", "pomona-client"),
            stdin="",
        )
        assert added.returncode == 2  # no secret and no terminal to ask at
        added = run(
            {**admin, "POMONA_JAMF_SECRET": "client-secret"},
            *("jamf", "connection", "add", "prod", jamf.url, "--client-id", "pomona-client"),
        )
        assert added.returncode == 0, added.stderr
        assert "client-secret" not in added.stdout + added.stderr
        checked = run(admin, "jamf", "check", "prod")
        assert checked.returncode == 0, checked.stderr
        assert jamf.state.version in checked.stdout

        pushed = run(admin, "jamf", "push", "Tool.pkg", "--to", "prod", "--json")
        assert pushed.returncode == 0, pushed.stderr
        ended = json.loads(pushed.stdout)
        assert (ended["status"], ended["method"]) == ("succeeded", "multipart")
        listed = json.loads(run(admin, "jamf", "pushes", "--json").stdout)
        assert [p["filename"] for p in listed] == ["Tool.pkg"]

        dry = run(admin, "jamf", "delete", "Tool.pkg", "--from", "prod", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert "file would delete" in dry.stderr
        assert [f["fileName"] for f in jamf.state.jcds_files()] == ["Tool.pkg"]

        planned = run(admin, "jamf", "connect", "prod", "--dry-run")
        assert planned.returncode == 0, planned.stderr
        assert "create" in planned.stdout
        connected = run(admin, "jamf", "connect", "prod", "--yes")
        assert connected.returncode == 0, connected.stderr
        again = run(admin, "jamf", "connect", "prod", "--yes")
        assert "nothing to change" in again.stderr
        undone = run(admin, "jamf", "disconnect", "prod", "--yes")
        assert undone.returncode == 0, undone.stderr
        assert not jamf.state.classic["patchexternalsources"]
