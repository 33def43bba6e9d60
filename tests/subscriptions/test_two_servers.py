"""Two real servers: B subscribes to a title of A's namespace feed with the command line, and
stays in step as the title changes on A; when A stops serving it, B keeps its last good state
and says why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Server, fixture_text, serving


def token(server: Server) -> str:
    made = server.pomona("token", "create", "--name", "admin", "--scope", "admin")
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def cli(server: Server, secret: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A client command against ``server``, as an admin would run it from a Mac."""
    env = {**os.environ, "POMONA_URL": server.url, "POMONA_TOKEN": secret}
    return subprocess.run(
        [sys.executable, "-m", "pomona", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "lastModified"}


def eventually(read: Any, expected: Any) -> Any:
    deadline = time.monotonic() + 20
    while True:
        found = read()
        if found == expected or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


@pytest.mark.slow
def test_b_follows_a_namespace_feed_of_a(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    allowed = {"POMONA_FETCH_ALLOWED_NETWORKS": json.dumps(["127.0.0.0/8"])}
    with serving(tmp_path / "a") as a, serving(tmp_path / "b", **allowed) as b:
        a_token, b_token = token(a), token(b)
        admin_a = {"Authorization": f"Bearer {a_token}"}
        made = httpx.post(
            f"{a.url}/api/v1/namespaces",
            json={"slug": "acme", "displayName": "Acme"},
            headers=admin_a,
        )
        assert made.status_code == 201, made.text
        made = httpx.post(
            f"{a.url}/api/v1/titles?namespace=acme",
            content=fixture_text("example.json"),
            headers=admin_a,
        )
        assert made.status_code == 201, made.text
        source = f"{a.url}/jamf/v1/acme/patch/Example"

        def a_doc() -> dict[str, Any]:
            return comparable(httpx.get(source).json())

        def b_doc() -> dict[str, Any] | int:
            answer = httpx.get(f"{b.url}/jamf/v1/patch/Example")
            return comparable(answer.json()) if answer.status_code == 200 else answer.status_code

        subscribed = cli(b, b_token, "titles", "subscribe", source, "--every", "5m")
        assert subscribed.returncode == 0, subscribed.stderr
        assert "subscription 1" in subscribed.stderr  # messages go to stderr, data to stdout
        assert eventually(b_doc, a_doc()) == a_doc()  # the first check, queued at once

        # A changes: a new version, then an old one removed; B follows on each check.
        version = json.loads(fixture_text("example.json"))["patches"][0]
        version = {**version, "version": "2.2.0"}
        added = httpx.post(f"{a.url}/api/v1/titles/Example/versions", json=version, headers=admin_a)
        assert added.status_code in (200, 201), added.text
        checked = cli(b, b_token, "subscriptions", "check", "1")
        assert checked.returncode == 0, checked.stderr
        assert "updated" in checked.stderr
        assert b_doc() == a_doc()
        removed = httpx.delete(f"{a.url}/api/v1/titles/Example/versions/1.9.7", headers=admin_a)
        assert removed.status_code in (200, 204), removed.text
        assert cli(b, b_token, "subscriptions", "check", "1").returncode == 0
        assert b_doc() == a_doc()
        kept = a_doc()

        # A stops serving the title: B keeps its last good state and shows the failure.
        assert httpx.delete(f"{a.url}/api/v1/titles/Example", headers=admin_a).status_code == 204
        failed = cli(b, b_token, "subscriptions", "check", "1")
        assert failed.returncode != 0
        assert "404" in failed.stderr + failed.stdout
        assert b_doc() == kept
        shown = cli(b, b_token, "subscriptions", "list", "--failing", "--json")
        assert json.loads(shown.stdout)[0]["failures"] == 1
