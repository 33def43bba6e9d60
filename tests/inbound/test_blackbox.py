"""End to end: ``pomona serve`` on a loopback port receives the samples that
``pomona jamf webhook send`` posts, JSON with a header secret and XML with Basic; its own
queue processes them; wrong credentials make the command fail."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from pomona.inbound.samples import EVENT_TYPES
from tests.conftest import serving

pytestmark = pytest.mark.slow


def _send(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pomona", "jamf", "webhook", "send", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _processed(url: str, headers: dict[str, str], name: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 60
    while True:
        items = httpx.get(
            f"{url}/api/v1/inbound/sources/{name}/events",
            params={"perPage": 200},
            headers=headers,
        ).json()["items"]
        if len(items) >= count and all(i["status"] == "processed" for i in items):
            return list(items)
        assert time.monotonic() < deadline, [(i["webhookEvent"], i["status"]) for i in items]
        time.sleep(0.2)


def test_the_send_tool_against_a_real_server(tmp_path: Path) -> None:
    with serving(tmp_path) as server:
        made = server.pomona("token", "create", "--name", "ci", "--scope", "admin")
        assert made.returncode == 0, made.stderr
        admin = {"Authorization": f"Bearer {made.stdout.strip()}"}
        cli = ("--url", server.url, "--token", made.stdout.strip(), "jamf", "webhook", "sources")
        added = server.pomona(*cli, "add", "hdr", "--header", "X-Pomona-Secret: s3cret-value")
        assert added.returncode == 0, added.stderr
        assert "/hooks/jamf/hdr" in added.stderr + added.stdout
        basic = server.pomona(*cli, "add", "bas", "--basic", "jamf:long enough pw")
        assert basic.returncode == 0, basic.stderr
        refused = server.pomona(*cli, "add", "open")
        assert refused.returncode == 2

        sent = _send(
            server.env,
            "all",
            "--to",
            f"{server.url}/hooks/jamf/hdr",
            "--header",
            "X-Pomona-Secret: s3cret-value",
            "--repeat",
            "2",
            "--every",
            "0.1",
        )
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert sent.stdout.count("200 ") == 2 * len(EVENT_TYPES)
        xml = _send(
            server.env,
            "PatchSoftwareTitleUpdated",
            "--to",
            f"{server.url}/hooks/jamf/bas",
            "--xml",
            "--auth",
            "basic:jamf:long enough pw",
        )
        assert xml.returncode == 0, xml.stdout + xml.stderr

        items = _processed(server.url, admin, "hdr", 2 * len(EVENT_TYPES))
        assert sorted({i["webhookEvent"] for i in items}) == sorted(EVENT_TYPES)
        [patch] = _processed(server.url, admin, "bas", 1)
        assert patch["contentType"] == "xml"
        assert patch["body"].startswith('<?xml version="1.0" encoding="UTF-8"?><JSSEvent>')

        wrong = _send(
            server.env,
            "PushSent",
            "--to",
            f"{server.url}/hooks/jamf/bas",
            "--auth",
            "basic:jamf:nope",
        )
        assert wrong.returncode == 1
        assert "401 PushSent" in wrong.stdout
        assert "inbound_auth_failed" in wrong.stderr
        refused = _send(server.env, "PushSent", "--to", server.url, "--header", "Host: x")
        assert refused.returncode == 2
        assert "Jamf Pro does not let a webhook set Host" in refused.stderr

        listed = server.pomona(*cli, "list", "--json")
        assert [s["name"] for s in json.loads(listed.stdout)] == ["bas", "hdr"]
        shown = server.pomona(*cli, "events", "bas", "--json")
        assert [i["status"] for i in json.loads(shown.stdout)["items"]] == ["processed"]
        gone = server.pomona(*cli, "delete", "bas", "--yes")
        assert gone.returncode == 0, gone.stderr
        missing = server.pomona(*cli, "events", "bas")
        assert missing.returncode == 3
        assert "pomona jamf webhook sources list" in missing.stderr
