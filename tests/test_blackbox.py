"""The README's first steps, end to end: a real server process, the CLI, and real curl."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, Server

pytestmark = [
    pytest.mark.slow,
    # Both HTTP servers `pomona serve` can run, end to end.
    pytest.mark.parametrize("server", ["granian", "uvicorn"], indirect=True),
]


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    """curl as a user runs it; ``-w`` appends the status code on a last line of its own."""
    if shutil.which("curl") is None:
        pytest.fail("curl is needed for the black-box tests (apt-get install curl)")
    return subprocess.run(
        ["curl", "--silent", "--show-error", "-w", "\n%{http_code}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def answer(result: subprocess.CompletedProcess[str]) -> tuple[int, str]:
    assert result.returncode == 0, result.stderr
    body, _, status = result.stdout.rpartition("\n")
    return int(status), body


def test_the_readme_first_steps(server: Server, tmp_path: Path) -> None:
    # TOKEN=$(pomona token create --name admin --scope admin)
    created = server.pomona("token", "create", "--name", "admin", "--scope", "admin")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert created.stdout == token + "\n"

    # curl -X POST .../api/v1/titles -H "Authorization: Bearer $TOKEN" --data @MyApp.json
    definition = tmp_path / "MyApp.json"
    shutil.copy(FIXTURES / "example.json", definition)
    status, body = answer(
        curl(
            "-X",
            "POST",
            f"{server.url}/api/v1/titles",
            "-H",
            f"Authorization: Bearer {token}",
            "-H",
            "Content-Type: application/json",
            "--data",
            f"@{definition}",
        )
    )
    assert status == 201, body
    assert json.loads(body)["id"] == "Example"

    # Without a token the API refuses, and says how to get one.
    status, body = answer(
        curl("-X", "POST", f"{server.url}/api/v1/titles", "--data", f"@{definition}")
    )
    assert status == 401
    assert "pomona token create" in body

    # Jamf Pro: HEAD on the base ("Test" button), then /software and /patch, no credentials.
    status, _ = answer(curl("--head", f"{server.url}/jamf/v1/"))
    assert status == 200
    status, _ = answer(curl("--head", f"{server.url}/jamf/v1"))
    assert status == 200
    status, body = answer(curl(f"{server.url}/jamf/v1/software"))
    assert status == 200
    assert [s["id"] for s in json.loads(body)] == ["Example"]
    status, body = answer(curl(f"{server.url}/jamf/v1/patch/Example"))
    assert status == 200
    served = json.loads(body)
    assert served["id"] == "Example"
    assert served["currentVersion"] == "2.1.0"
    assert body == json.dumps(served, indent=2, sort_keys=True) + "\n"

    # A client that takes gzip gets the same document.
    status, zipped = answer(curl("--compressed", f"{server.url}/jamf/v1/patch/Example"))
    assert status == 200
    assert zipped == body

    status, body = answer(curl(f"{server.url}/jamf/v1/patch/Nope"))
    assert status == 404
    assert json.loads(body)["errors"]
