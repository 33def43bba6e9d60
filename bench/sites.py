"""Real ``pomona serve`` processes as replication sites, for the end-to-end tests and the
benchmark: each on its own loopback port with its own SQLite database and storage, paired
through the API, killed with SIGKILL and started again on the same port and data."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.procs import free_port


def wait_until(check: Callable[[], Any], seconds: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.1)


@dataclass
class Site:
    name: str
    folder: Path
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    token: str = ""
    log: Any = None
    peers: dict[str, str] = field(default_factory=dict)  # site name -> peer id

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def start(self) -> None:
        self.launch()
        self.ready()

    def launch(self) -> None:
        self.log = (self.folder / "server.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pomona", "serve"],
            cwd=self.folder,
            env=self.env,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,  # its own process group: see kill
        )

    def ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.head(f"{self.url}/jamf/v1/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError(f"{self.name} did not start:\n" + self.logs())
            time.sleep(0.1)
        if not self.token:
            made = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pomona",
                    "token",
                    "create",
                    "--name",
                    "admin",
                    "--scope",
                    "admin",
                ],
                env=self.env,
                cwd=self.folder,
                capture_output=True,
                text=True,
                check=True,
            )
            self.token = made.stdout.strip()

    def kill(self) -> None:
        """SIGKILL the server and its workers, as a crash of the machine would. (The server's
        process alone would leave granian's worker serving on, orphaned.)"""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.log.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):  # a worker left behind
                os.killpg(self.process.pid, signal.SIGKILL)
        if self.log is not None:
            self.log.close()

    def logs(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace")[-6000:] if path.exists() else ""

    # -- API -------------------------------------------------------------------------------

    def call(self, method: str, path: str, **options: Any) -> httpx.Response:
        return httpx.request(method, self.url + path, headers=self.headers, timeout=60, **options)

    def upload(
        self, filename: str, data: bytes, *, tags: list[str] | None = None, replace: bool = False
    ) -> str:
        query = "?replace=true" if replace else ""
        put = self.call("PUT", f"/api/v1/packages/{filename}{query}", content=data)
        assert put.status_code in (200, 201, 202), put.text  # 202: being stored in S3
        if tags is not None:
            self.tag(filename, tags)
        return hashlib.sha256(data).hexdigest()

    def tag(self, filename: str, tags: list[str]) -> None:
        edit = self.call("PATCH", f"/api/v1/packages/{filename}", json={"tags": tags})
        assert edit.status_code == 200, edit.text

    def package(self, filename: str) -> dict[str, Any] | None:
        found = self.call("GET", f"/api/v1/packages/{filename}")
        return found.json() if found.status_code == 200 else None

    def has(self, filename: str, sha256: str) -> bool:
        found = self.package(filename)
        return found is not None and found["sha256"] == sha256

    def download(self, filename: str) -> bytes:
        return httpx.get(f"{self.url}/Packages/{filename}", timeout=60).content

    def job(self, answer: httpx.Response) -> dict[str, Any]:
        assert answer.status_code == 202, answer.text
        url = answer.json()["url"]

        def done() -> dict[str, Any] | None:
            job: dict[str, Any] = self.call("GET", url).json()
            return job if job["status"] in ("succeeded", "failed") else None

        finished: dict[str, Any] = wait_until(done, 30, "the job")
        return finished

    def peer_list(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.call("GET", "/api/v1/peers").json()["items"]
        return items


def pair(inviter: Site, joiner: Site) -> None:
    """Pair two sites through the API, as two admins would."""
    invited = inviter.call("POST", "/api/v1/peers/invitations", json={})
    assert invited.status_code == 201, invited.text
    job = joiner.job(
        joiner.call("POST", "/api/v1/peers", json={"invitation": invited.json()["code"]})
    )
    assert job["status"] == "succeeded", job
    joiner.peers[inviter.name] = job["result"]["peerId"]
    for peer in inviter.peer_list():
        if peer["name"] == joiner.name:
            inviter.peers[joiner.name] = peer["peerId"]


ROOT = Path(__file__).resolve().parents[2]


def site_env(folder: Path, name: str, port: int, **settings: str) -> dict[str, str]:
    # The servers run this checkout's code whatever the working directory.
    path = os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {
        **os.environ,
        "PYTHONPATH": path,
        "POMONA_DATA_DIR": str(folder / "pomona-data"),
        "POMONA_PORT": str(port),
        "POMONA_REPLICATION_SITE_NAME": name,
        "POMONA_REPLICATION_SITE_URL": f"http://127.0.0.1:{port}",
        "POMONA_FETCH_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
        "POMONA_QUEUE_RETRY_DELAY": "0.5",
        "POMONA_QUEUE_LEASE_SECONDS": "3",
        "POMONA_QUEUE_EMBEDDED_WORKERS": "4",
        **{f"POMONA_{k.upper()}": v for k, v in settings.items()},
    }


@contextmanager
def sites(root: Path, *specs: tuple[str, dict[str, Any]]) -> Iterator[list[Site]]:
    """Start one site per ``(name, settings)``; all are stopped at the end."""
    started: list[Site] = []
    try:
        for name, settings in specs:
            folder = root / name
            folder.mkdir()
            port = int(settings.pop("port", 0)) or free_port()
            site = Site(name, folder, port, site_env(folder, name, port, **settings))
            site.launch()
            started.append(site)
        for site in started:
            site.ready()
        yield started
    finally:
        for site in started:
            site.stop()


def payload(size: int, seed: int = 0) -> bytes:
    """Incompressible-looking bytes, different for each seed."""
    block = hashlib.sha256(f"pomona-{seed}".encode()).digest() * 2048  # 64 KiB
    return (block * (size // len(block) + 1))[:size]
