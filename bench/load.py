"""The Jamf feed under write load: its latency at rest, then while an admin restores a backup of
the small titles and replaces the large one, over and over, on the same server. See
docs/performance.md.

Target (DESIGN.md): the feed's p99 while a restore of the titles runs stays within 2 x its p99
at rest.
"""

from __future__ import annotations

import io
import json
import statistics
import threading
import time
import zipfile
from dataclasses import dataclass, field

import httpx

from bench import data
from bench.common import Run, measure, ratio, say, table
from bench.procs import Load, Server

TARGET = 2.0  # p99 under load / p99 at rest


@dataclass
class Writes:
    restores: int = 0
    puts: int = 0
    restore_seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def done(self) -> str:
        return f"{self.restores} restores + {self.puts} PUTs"


@dataclass
class Writer:
    """The admin: restores ``archive`` (every small title, ``policy=replace``, so each restore
    writes a new revision of every one) and replaces the big title, alternately with one version
    more and as loaded, one request after the other until stopped."""

    run: Run
    server: Server
    big: str
    archive: bytes
    bigger: bool = False  # the big title has one version more than as loaded
    as_loaded: bytes = field(init=False)
    one_more: bytes = field(init=False)
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        versions = self.run.profile.big_versions
        self.as_loaded = json.dumps(data.title(self.big, versions)).encode()
        self.one_more = json.dumps(data.title(self.big, versions + 1)).encode()
        self.client = httpx.Client(base_url=self.server.url, headers=self.run.auth(), timeout=120)

    def settle(self) -> None:
        """Put the big title back as loaded, for the next measurement at rest."""
        if self.bigger:
            writes = Writes()
            self.replace(writes)
            for problem in writes.errors:
                self.run.fail(f"{self.server.name}: write failed: {problem}")

    def close(self) -> None:
        self.settle()
        self.client.close()

    def restore(self, writes: Writes) -> None:
        started = time.monotonic()
        try:
            answer = self.client.post(
                "/api/v1/backups/restore",
                params={"policy": "replace"},
                content=self.archive,
                headers={"Content-Type": "application/zip"},
            )
        except httpx.HTTPError as exc:
            writes.errors.append(f"restore: {exc!r}")
            return
        replaced = answer.json().get("replaced") if answer.status_code == 200 else None
        if replaced != self.run.profile.titles:
            writes.errors.append(f"restore: HTTP {answer.status_code} {answer.text[:300]}")
            return
        writes.restores += 1
        writes.restore_seconds.append(time.monotonic() - started)

    def replace(self, writes: Writes) -> None:
        try:
            answer = self.client.put(
                f"/api/v1/titles/{self.big}",
                content=self.as_loaded if self.bigger else self.one_more,
                headers={"Content-Type": "application/json"},
                params={"reason": "benchmark: feed under write load"},
            )
        except httpx.HTTPError as exc:
            writes.errors.append(f"PUT {self.big}: {exc!r}")
            return
        if answer.status_code != 200:
            writes.errors.append(f"PUT {self.big}: HTTP {answer.status_code} {answer.text[:300]}")
            return
        self.bigger = not self.bigger
        writes.puts += 1

    def loop(self, writes: Writes, stop: threading.Event) -> None:
        while not stop.is_set():
            self.restore(writes)
            if not stop.is_set():
                self.replace(writes)
            if writes.errors:
                stop.wait(0.1)  # a server refusing at once would otherwise be hammered


def backup_without(run: Run, server: Server, title_id: str) -> bytes:
    """``GET /api/v1/backups`` less ``title_id``'s definition: a backup of the small titles."""
    answer = httpx.get(f"{server.url}/api/v1/backups", headers=run.auth(), timeout=120)
    answer.raise_for_status()
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(answer.content)) as backup,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        for info in backup.infolist():
            if not info.filename.endswith(f"/{title_id}.json"):
                archive.writestr(info, backup.read(info))
    return out.getvalue()


def _under_writes(
    run: Run, server: Server, path: str, connections: int, writer: Writer
) -> tuple[Load, Writes]:
    """wrk against ``path`` with ``writer`` writing for the whole run."""
    writes, stop = Writes(), threading.Event()
    thread = threading.Thread(target=writer.loop, args=(writes, stop), daemon=True)
    thread.start()
    try:
        load = measure(run, server, path, connections)
    finally:
        stop.set()
        thread.join()
        writer.settle()
    for problem in writes.errors[:5]:
        run.fail(f"{server.name}: write failed: {problem}")
    if not writes.restores and not writes.puts:
        run.fail(f"{server.name}: no write completed while wrk ran against {path}")
    return load, writes


def _row(path: str, condition: str, load: Load, errors: str, done: str, p99: str) -> list[str]:
    return [
        f"`{path}`",
        condition,
        f"{load.p50_ms:.2f}",
        f"{load.p99_ms:.2f}",
        f"{load.requests_per_second:,.0f}",
        errors,
        done,
        p99,
    ]


def feed_under_writes(run: Run, server: Server, big: str) -> None:
    """The scenario, on ``server`` with the corpus loaded; ``big`` is the large title's id."""
    archive = backup_without(run, server, big)
    connections = max(run.profile.connections)
    writer = Writer(run, server, big, archive)
    alone = Writes()
    rows: list[list[str]] = []
    ratios: dict[str, float] = {}
    restored: list[float] = []
    try:
        writer.restore(alone)  # one restore with nothing else running, for scale
        for problem in alone.errors:
            run.fail(f"{server.name}: write failed: {problem}")
        for path in ("/jamf/v1/software", f"/jamf/v1/patch/{big}"):
            # The first request after a write renders the feed again: not part of "at rest".
            httpx.get(server.url + path, timeout=30).raise_for_status()
            say(f"load {path} c={connections} {server.name}: at rest")
            rest = measure(run, server, path, connections)
            say(f"load {path} c={connections} {server.name}: during restore + replace")
            busy, writes = _under_writes(run, server, path, connections, writer)
            restored += writes.restore_seconds
            ratios[path] = busy.p99_ms / rest.p99_ms if rest.p99_ms else 0.0
            rows.append(_row(path, "at rest", rest, str(rest.errors), "-", "1.00"))
            rows.append(
                _row(
                    path,
                    "during restore + replace",
                    busy,
                    f"{busy.errors} + {len(writes.errors)}",
                    writes.done(),
                    ratio(busy.p99_ms, rest.p99_ms),
                )
            )
    finally:
        writer.close()
    met = all(0 < value <= TARGET for value in ratios.values())
    timing = f"{alone.restore_seconds[0]:.2f} s alone" if alone.restore_seconds else "failed alone"
    if restored:
        timing += (
            f", {statistics.median(restored):.2f} s median ({min(restored):.2f} to "
            f"{max(restored):.2f} s) under wrk"
        )
    header = ["endpoint", "condition", "p50 ms", "p99 ms", "req/s", "errors (feed + writes)"]
    header += ["writes done", "p99 x at rest"]
    summary = ", ".join(f"`{path}` **{value:.2f}**" for path, value in ratios.items())
    run.sections.append(
        f"### Feed under write load ({run.profile.titles} titles + one of "
        f"{run.profile.big_versions} versions; {server.name}; wrk, {connections} connections, "
        f"{run.profile.seconds:g} s per row)\n\n"
        "Each endpoint at rest, then while one admin client, in a loop for the whole wrk run, "
        f"restores a backup of the {run.profile.titles} small titles "
        "(`POST /api/v1/backups/restore?policy=replace`: every title written again as a new "
        f"revision, all in one transaction) and replaces the {run.profile.big_versions}-version "
        f"title (`PUT /api/v1/titles/{big}`, alternately with one version more and as loaded). "
        "*Writes done*: write requests completed during the run; *errors*: failed feed requests "
        f"(wrk) + failed writes. A restore took {timing}.\n\n"
        + table(header, rows)
        + f"\n\np99 under load / p99 at rest: {summary}. Target: within {TARGET:g}x. "
        f"Met: **{'yes' if met else 'no'}**."
    )
