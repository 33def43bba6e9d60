"""``pomona webhooks`` and ``pomona events tail`` against a real server and a real receiver, as
an admin uses them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.cli.clientkit import admin_token, logged_in, run
from tests.conftest import serving
from tests.events.conftest import EXAMPLE
from tests.events.receiver import receiving

pytestmark = pytest.mark.slow

ENV = {
    "POMONA_FETCH_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
    "POMONA_WEBHOOK_POLL_SECONDS": "0.2",
    "POMONA_EVENTS_STREAM_POLL_SECONDS": "0.1",
}


def test_an_admin_adds_follows_and_replays_a_webhook(tmp_path: Path) -> None:
    with serving(tmp_path, **ENV) as server, receiving() as receiver:
        admin = logged_in(server, tmp_path / "home")
        added = run(admin, "webhooks", "add", receiver.url, "--event", "title.*")
        assert added.returncode == 0, added.stderr
        secret = added.stdout.strip()
        assert secret.startswith("whsec_")
        assert "shown this once" in added.stderr
        [endpoint] = json.loads(run(admin, "webhooks", "list", "--json").stdout)
        assert endpoint["eventTypes"] == ["title.*"]

        tail = subprocess.Popen(
            [sys.executable, "-m", "pomona", "events", "tail", "--type", "title.*", "--json"],
            env=admin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(3)  # the tail is connected
            token = {"Authorization": f"Bearer {admin_token(server, 'api')}"}
            created = httpx.post(f"{server.url}/api/v1/titles", json=EXAMPLE, headers=token)
            assert created.status_code == 201, created.text
            assert tail.stdout is not None
            line = tail.stdout.readline()
            assert json.loads(line)["type"] == "title.created"
        finally:
            tail.terminate()
            tail.wait(timeout=15)

        receiver.wait_for(1)
        listed = run(admin, "webhooks", "deliveries", endpoint["id"], "--json")
        [delivery] = json.loads(listed.stdout)
        assert delivery["state"] == "delivered"
        replayed = run(admin, "webhooks", "replay", endpoint["id"], str(delivery["id"]))
        assert replayed.returncode == 0, replayed.stderr
        assert len({r.headers["webhook-id"] for r in receiver.wait_for(2)}) == 1

        rotated = run(admin, "webhooks", "rotate", endpoint["id"])
        assert rotated.returncode == 0, rotated.stderr
        assert rotated.stdout.strip().startswith("whsec_")
        assert rotated.stdout.strip() != secret
        missing = run(admin, "webhooks", "remove", "ep_nothing", "--yes")
        assert missing.returncode != 0
        assert "no webhook endpoint" in missing.stderr
        removed = run(admin, "webhooks", "remove", endpoint["id"], "--yes")
        assert removed.returncode == 0, removed.stderr
        assert json.loads(run(admin, "webhooks", "list", "--json").stdout) == []
