"""The memory a restore costs a real server, read from the process itself: the worst archives
within the default limits stay under the peak docs/configuration.md states, and the memory is
given back afterwards."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from pomona.settings import Settings
from tests.conftest import Server, serving
from tests.titles.archives import hostile, valid, zipped

MiB = 1024 * 1024
# docs/configuration.md, "Memory of restores and imports": the peak above the idle server.
DOCUMENTED_PEAK = 640 * MiB
# What a refused restore may leave behind once answered (allocator slack, caches warmed).
GIVEN_BACK_WITHIN = 48 * MiB


def memory(pid: int) -> tuple[int, int]:
    """(resident now, resident at its peak) of ``pid``, in bytes."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) * 1024
    return found["VmRSS"], found["VmHWM"]


def token(server: Server) -> dict[str, str]:
    for _ in range(5):  # the server may still hold the database's write lock for a moment
        done = server.pomona("token", "create", "--name", "memory", "--scope", "admin")
        if done.returncode == 0 and done.stdout.strip():
            return {"Authorization": f"Bearer {done.stdout.strip()}"}
        time.sleep(1)
    raise AssertionError(done.stderr)


def restore(server: Server, auth: dict[str, str], archive: bytes) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/backups/restore",
        params={"policy": "replace"},
        content=archive,
        headers={**auth, "Content-Type": "application/zip"},
        timeout=600,
    )


@pytest.mark.slow
def test_the_worst_archives_within_the_limits_stay_under_the_documented_peak(
    tmp_path: Path,
) -> None:
    if not Path("/proc/self/status").exists():
        pytest.skip("reads the server's memory from /proc")
    budget = Settings().import_max_parsed_bytes
    dense_archive = zipped(hostile(budget))
    titles = valid(budget)
    large_backup = zipped(titles)
    # uvicorn in one process: the process started is the one that parses.
    with serving(tmp_path, "--server", "uvicorn") as server:
        auth = token(server)
        warm = restore(server, auth, zipped(valid(4 * MiB)))
        assert warm.status_code == 200, warm.text
        idle, _ = memory(server.process.pid)

        refused = restore(server, auth, dense_archive)
        assert refused.status_code == 422, refused.text[:500]
        after_refusal, peak_refused = memory(server.process.pid)

        done = restore(server, auth, large_backup)
        assert done.status_code == 200, done.text[:500]
        assert done.json()["created"] + done.json()["replaced"] == len(titles)
        _, peak = memory(server.process.pid)

    print(
        f"idle {idle / MiB:.0f} MiB; dense archive: peak +{(peak_refused - idle) / MiB:.0f}, "
        f"after +{(after_refusal - idle) / MiB:.0f}; {len(titles)} titles: peak "
        f"+{(peak - idle) / MiB:.0f} MiB"
    )
    assert peak - idle < DOCUMENTED_PEAK
    assert after_refusal - idle < GIVEN_BACK_WITHIN
