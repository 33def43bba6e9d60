"""Replication A -> B against ``curl`` and ``sha256sum`` of the same file, in one run:
``uv run python -m bench.replication`` (1 GiB; ``--smoke``: 16 MiB, seconds, for CI).

Two ``pomona serve`` sites on loopback, each with its own database and storage, paired through
the API. The package is uploaded to A; the reference is ``curl`` downloading it from A's
``/Packages/`` plus ``sha256sum`` of the download (what a hand-made copy with a check costs).
Then B fetches it through replication (manifest, parallel Range requests, every chunk verified
and recorded, the whole file verified, published). Then the same again with B killed
(SIGKILL) half way and started again: the figure is what it had, and the time to finish.
B's memory is sampled all along. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.common import ratio, say, table
from bench.procs import PeakMemory, need
from bench.sites import Site, pair, sites, wait_until

MiB = 1024 * 1024


def _write(path: Path, size: int, seed: int) -> None:
    """``size`` bytes that do not compress, written in 4 MiB blocks (memory stays flat)."""
    block = b"".join(hashlib.sha256(f"{seed}-{i}".encode()).digest() for i in range(4 * MiB // 32))
    with path.open("wb") as out:
        left = size
        while left > 0:
            out.write(block[: min(left, len(block))])
            left -= len(block)


def _upload(site: Site, path: Path, name: str) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while piece := source.read(4 * MiB):
            digest.update(piece)

    def pieces() -> Iterator[bytes]:
        with path.open("rb") as source:
            while piece := source.read(4 * MiB):
                yield piece

    put = site.call("PUT", f"/api/v1/packages/{name}", content=pieces())
    if put.status_code not in (200, 201):
        raise RuntimeError(f"upload failed: {put.status_code} {put.text}")
    return digest.hexdigest()


def _received(site: Site) -> int:
    queues = site.call("GET", "/api/v1/replication").json()["peers"]
    return sum(t["bytes"] for p in queues for t in p["incoming"])


def _replicate(a: Site, b: Site, name: str, sha: str, timeout: float) -> float:
    start = time.monotonic()
    b.call("POST", f"/api/v1/peers/{b.peers[a.name]}/sync")
    wait_until(lambda: b.has(name, sha), timeout, f"{name} at {b.name}")
    return time.monotonic() - start


def run(size: int, output: Path | None) -> int:
    need("curl")
    need("sha256sum")
    work = Path(tempfile.mkdtemp(prefix="pomona-bench-replication-"))
    failures: list[str] = []
    try:
        source = work / "source.pkg"
        _write(source, size, 1)
        quiet = {"log_level": "warning", "replication_poll_seconds": "3600"}
        with sites(work, ("a", quiet), ("b", quiet)) as (a, b):
            pair(a, b)
            # B fetches when asked (a sync), so the clock starts with the transfer.
            a.call("PATCH", f"/api/v1/peers/{a.peers[b.name]}", json={"notify": False})
            say("uploading to A")
            sha = _upload(a, source, "Bench.pkg")
            # Reference: curl from A's distribution point, then sha256sum of the copy.
            copy = work / "copy.pkg"
            start = time.monotonic()
            subprocess.run(
                ["curl", "-sS", "-o", str(copy), f"{a.url}/Packages/Bench.pkg"], check=True
            )
            hashed = subprocess.run(
                ["sha256sum", str(copy)], check=True, capture_output=True, text=True
            )
            reference = time.monotonic() - start
            copy.unlink()
            if hashed.stdout.split()[0] != sha:
                failures.append("curl's copy does not match")
            assert b.process is not None
            with PeakMemory(b.process.pid) as memory:
                replicated = _replicate(a, b, "Bench.pkg", sha, 600)
            say(f"replicated in {replicated:.1f} s; curl + sha256sum {reference:.1f} s")

            # Kill and resume: a second content, B killed half way. Until the kill B takes at
            # most an eighth of the file a second, so that a poll sees it half way on any
            # machine (a fast one would otherwise finish between two polls); the resumed
            # transfer runs unlimited.
            b.stop()
            b.env["POMONA_REPLICATION_RATE_LIMIT"] = str(max(size // 8, 1))
            b.start()
            second = work / "second.pkg"
            _write(second, size, 2)
            sha2 = _upload(a, second, "Resume.pkg")
            b.call("POST", f"/api/v1/peers/{b.peers[a.name]}/sync")
            wait_until(lambda: _received(b) >= size // 2, 600, "half of the transfer")
            b.kill()
            del b.env["POMONA_REPLICATION_RATE_LIMIT"]
            b.start()
            had = _received(b)
            start = time.monotonic()
            wait_until(lambda: b.has("Resume.pkg", sha2), 600, "the resumed transfer")
            resumed = time.monotonic() - start
        rows = [
            [
                "curl + sha256sum (reference)",
                f"{reference:.2f}",
                f"{size / reference / MiB:.0f}",
                "1.00",
                "-",
            ],
            [
                "replication A -> B",
                f"{replicated:.2f}",
                f"{size / replicated / MiB:.0f}",
                ratio(replicated, reference),
                f"{memory.before / MiB:.0f} -> {memory.peak / MiB:.0f}",
            ],
            [
                f"resumed after kill -9 (had {had / MiB:.0f} of {size / MiB:.0f} MiB)",
                f"{resumed:.2f}",
                f"{(size - had) / resumed / MiB:.0f}",
                "-",
                "-",
            ],
        ]
        text = "### Replication\n\n" + table(
            ["what", "seconds", "MiB/s", "x reference", "B's RSS MiB (before -> peak)"], rows
        )
        if failures:
            text += "\n\n**Failures**: " + "; ".join(failures)
        print(text)
        if output is not None:
            output.write_text(text + "\n")
        return 1 if failures else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replication", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="16 MiB, seconds; for CI")
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the package")
    parser.add_argument("--output", type=Path, help="also write the table here")
    args = parser.parse_args(argv)
    return run((16 if args.smoke else args.size_mib) * MiB, args.output)


if __name__ == "__main__":
    sys.exit(main())
