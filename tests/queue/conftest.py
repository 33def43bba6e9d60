"""The queue's contract harness: the same tests against each way of running tasks.

* ``embedded``: SQLite queue storage, worker threads inside a real ``pomona serve`` process.
* ``redis``: Redis queue storage, two separate ``pomona worker`` processes.

In both, the test process is the producer (as the web process is) and reads the leases from the
shared database. Leases are short here (2 s) so that lost workers are noticed quickly.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from pomona.queue.models import QueueLease
from pomona.settings import Settings
from pomona.tasks import Tasks, build_queue
from tests.conftest import free_port, unavailable

REDIS_URL = os.environ.get("POMONA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
QUEUE_ENV = {
    "POMONA_QUEUE_LEASE_SECONDS": "2",
    "POMONA_QUEUE_RETRY_DELAY": "0.5",
    "POMONA_QUEUE_RETRIES": "3",
    "POMONA_PACKAGE_SCRUB_HOURS": "0",
    "POMONA_PACKAGE_CLEANUP_HOURS": "0",
}


def redis_reachable(url: str) -> bool:
    from redis import Redis

    try:
        return bool(Redis.from_url(url, socket_timeout=1).ping())
    except Exception:
        return False


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Harness:
    kind: str
    tmp: Path
    env: dict[str, str]
    tasks: Tasks
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: list[Path] = field(default_factory=list)

    def _spawn(self, *args: str) -> subprocess.Popen[bytes]:
        log = self.tmp / f"{args[0]}-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "pomona", *args],
                cwd=self.tmp,
                env=self.env,
                stdout=out,
                stderr=out,
            )
        self.processes[process.pid] = process
        return process

    def start_consumer(self) -> None:
        """One more process that runs tasks (a server when embedded, a worker with Redis)."""
        if self.kind == "embedded":
            port = free_port()
            self.env["POMONA_PORT"] = str(port)
            process = self._spawn("serve")
            url = f"http://127.0.0.1:{port}/jamf/v1/"

            def up() -> bool:
                if process.poll() is not None:
                    raise AssertionError(self.output())
                try:
                    return httpx.head(url, timeout=1).status_code == 200
                except httpx.TransportError:
                    return False

            wait_for(up, 30, "the server to start")
        else:
            process = self._spawn("worker", "--workers", "2")
            wait_for(lambda: b"threads" in self.logs[-1].read_bytes(), 30, "the worker to start")

    def kill(self, worker_id: str) -> None:
        """SIGKILL the process named by a lease's worker id (``host:pid``): one this harness
        started, or a server's worker process (granian's, which granian replaces)."""
        pid = int(worker_id.rsplit(":", 1)[1])
        os.kill(pid, signal.SIGKILL)
        process = self.processes.pop(pid, None)
        if process is not None:
            process.wait(timeout=10)

    def leases(self) -> list[QueueLease]:
        async def read() -> list[QueueLease]:
            async with self.tasks.queue.runtime.db.sessions() as session:
                return list(await session.scalars(select(QueueLease)))

        return self.tasks.queue.runtime.run(read())

    def output(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()}" for log in self.logs)

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.tasks is not None:
            self.tasks.close()


@pytest.fixture(params=["embedded", "redis"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    data = tmp_path / "pomona-data"
    env = {
        **os.environ,
        **QUEUE_ENV,
        "POMONA_DATA_DIR": str(data),
        "POMONA_LOG_LEVEL": "info",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("POMONA_CONFIG", None)
    if request.param == "redis":
        if not redis_reachable(REDIS_URL):
            unavailable(f"Redis at {REDIS_URL}")
        env["POMONA_QUEUE_URL"] = REDIS_URL
        env["POMONA_QUEUE_NAME"] = f"pomona-test-{uuid.uuid4().hex[:12]}"
        env["POMONA_QUEUE_EMBEDDED_WORKERS"] = "0"
        migrated = subprocess.run(
            [sys.executable, "-m", "pomona", "migrate"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert migrated.returncode == 0, migrated.stderr
    settings = Settings(
        data_dir=data,
        queue_url=env.get("POMONA_QUEUE_URL"),
        queue_name=env.get("POMONA_QUEUE_NAME", "pomona"),
        queue_lease_seconds=2,
        queue_retry_delay=0.5,
        queue_retries=3,
    )
    harness: Harness | None = None
    try:
        # The producer is built once the consumers have created (migrated) the queue's tables.
        harness = Harness(request.param, tmp_path, env, tasks=None)  # type: ignore[arg-type]
        harness.start_consumer()
        if request.param == "redis":
            harness.start_consumer()
        harness.tasks = build_queue(settings)
        yield harness
    finally:
        if harness is not None:
            harness.stop()
        if request.param == "redis":
            from redis import Redis

            client = Redis.from_url(REDIS_URL)
            for key in client.scan_iter(f"huey.*{env['POMONA_QUEUE_NAME']}*"):
                client.delete(key)


def host_worker(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}"
