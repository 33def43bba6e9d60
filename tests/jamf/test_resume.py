"""A push whose server is killed (SIGKILL) half way resumes when the server comes back: the
multipart upload is finished, not begun again, and at most one part per stream is sent twice
(counted at the bucket's proxy)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import serving
from tests.fixtures.jamf_pro_run import Simulator
from tests.jamf.conftest import MiB, payload, server_env

STREAMS = 2


def _wait(check: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_a_push_killed_half_way_resumes_and_resends_at_most_a_part_per_stream(
    jamf: Simulator, tmp_path: Path
) -> None:
    data = payload(40 * MiB, seed=11)
    parts = 8
    jamf.state.guard.part_delay = 0.5
    jamf.state.credential_seconds = 3
    env = server_env(jamf, STREAMS)
    with serving(tmp_path, **env) as server:
        made = server.pomona("token", "create", "--name", "t", "--scope", "admin")
        assert made.returncode == 0, made.stderr
        headers = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
        put = httpx.put(f"{server.url}/api/v1/packages/Huge.pkg", content=data, headers=headers)
        assert put.status_code == 201, put.text
        body = {
            "name": "prod",
            "url": jamf.url,
            "clientId": "pomona-client",
            "clientSecret": "client-secret",
        }
        assert (
            httpx.post(
                f"{server.url}/api/v1/jamf/connections", json=body, headers=headers
            ).status_code
            == 201
        )
        started = httpx.post(
            f"{server.url}/api/v1/jamf/pushes",
            json={"filename": "Huge.pkg", "connection": "prod"},
            headers=headers,
        )
        assert started.status_code == 202, started.text
        push_url = server.url + started.json()["url"]
        _wait(lambda: len(jamf.state.guard.parts) >= parts // 2, 60, "half the parts")
        server.kill()  # no cleanup, no goodbye
    sent_before = len(jamf.state.guard.parts)
    assert sent_before < parts
    with serving(tmp_path, **env) as server:  # the server comes back, as a supervisor would
        deadline = time.monotonic() + 120
        while True:
            push = httpx.get(
                push_url.replace(push_url.split("/api/")[0], server.url), headers=headers
            ).json()
            if push["status"] in ("succeeded", "failed"):
                break
            assert time.monotonic() < deadline, push
            time.sleep(0.2)
    assert push["status"] == "succeeded", push
    assert push["method"] == "multipart"
    assert len(jamf.state.guard.parts) == parts
    assert jamf.state.guard.resent() <= STREAMS  # only the parts in flight went again
    listed = {f["fileName"]: f for f in jamf.state.jcds_files()}
    assert listed["Huge.pkg"]["md5"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert jamf.state.by_name("Huge.pkg")["hashValue"] == hashlib.sha512(data).hexdigest()  # type: ignore[index]
