"""The soak: every workload at once on one real ``pomona serve``, for a bounded time.

``uv run python -m bench.soak`` (10 minutes; ``--minutes 60`` for the long run) starts Pomona on
loopback, loads the benchmark's titles and a package, then runs together, until the time is up:
a fleet of Jamf Pro pollers on the feed, Macs downloading the package (whole and by range),
an admin uploading packages (plain ``PUT`` and tus) and deleting them, and an editor writing
titles (a version added and the oldest removed, a title replaced, a backup restored). After a
warm-up, the resident memory of each of the server's processes is read at the start and at the
end. It prints a table: requests, errors and p50/p99 per endpoint, memory per process.

Targets (DESIGN.md): no error, and under 10% memory growth per process. The exit status is 1
when a request failed or a process grew by 10% or more (the growth is judged on runs of five
minutes or more: ``--smoke`` runs for seconds, for CI, and only reports it). See
docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import io
import json
import os
import shlex
import sys
import tempfile
import time
import zipfile
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from bench import data
from bench.common import Profile, Run, say, table
from bench.procs import Server, descendants, resident, running, start_pomona
from bench.run import load_titles, machine, make_token

MiB = 1024 * 1024
GROWTH_TARGET = 0.10
JUDGED_FROM_MINUTES = 5.0


@dataclass(frozen=True)
class Soak:
    minutes: float
    warmup: float  # seconds of load before the memory at the start is read
    titles: int
    big_versions: int
    pollers: int
    poll_gap: float  # seconds each poller waits between its rounds
    downloaders: int
    package_mib: int
    upload_mib: int
    gap: float  # seconds between an uploader's or a writer's rounds
    restore_every: int  # the writer restores its backup every this many rounds


DEFAULT = Soak(10, 30, 500, 200, 16, 0.2, 2, 64, 8, 0.5, 10)
SMOKE = Soak(10 / 60, 2, 5, 10, 4, 0.05, 1, 2, 1, 0.1, 3)
WRITTEN = "SoakTitle"  # the title the writer adds versions to
REPLACED = "SoakReplaced"  # the title the writer replaces whole
KEPT_VERSIONS = 20


def soak_profile(*, smoke: bool, minutes: float | None) -> Soak:
    profile = SMOKE if smoke else DEFAULT
    return profile if minutes is None else replace(profile, minutes=minutes)


@dataclass
class Stats:
    """Latencies (seconds) and failures per endpoint, for the whole run."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    async def call(
        self,
        label: str,
        request: Awaitable[httpx.Response],
        expected: tuple[int, ...],
    ) -> httpx.Response | None:
        """Await ``request``, timed; its answer, or ``None`` (counted) if it failed."""
        started = time.perf_counter()
        try:
            answer = await request
        except httpx.HTTPError as exc:
            self.errors.setdefault(label, []).append(repr(exc))
            return None
        self.latencies.setdefault(label, []).append(time.perf_counter() - started)
        if answer.status_code not in expected:
            self.errors.setdefault(label, []).append(
                f"HTTP {answer.status_code} {answer.text[:200]}"
            )
            return None
        return answer


@dataclass
class Load:
    """Everything the workloads share: the server, the token, the stop signal, the figures."""

    url: str
    auth: dict[str, str]
    soak: Soak
    package: str
    upload: bytes
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    stats: Stats = field(default_factory=Stats)

    async def pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)


async def poller(load: Load, client: httpx.AsyncClient, index: int) -> None:
    """A Jamf Pro server: the list, a few titles' summaries, one title's definition."""
    titles = load.soak.titles
    ids = ",".join(f"App{i:04d}" for i in (index % titles, titles // 2, titles - 1))
    stats = load.stats
    while not load.stop.is_set():
        await stats.call("GET /jamf/v1/software", client.get("/jamf/v1/software"), (200,))
        await stats.call(
            "GET /jamf/v1/software/{ids}", client.get(f"/jamf/v1/software/{ids}"), (200,)
        )
        title = "BigTitle" if index % 4 == 0 else f"App{index % titles:04d}"
        await stats.call("GET /jamf/v1/patch/{id}", client.get(f"/jamf/v1/patch/{title}"), (200,))
        await load.pause(load.soak.poll_gap)


async def _download(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> int:
    """Stream a download to nowhere; the status, or -1 when the length is not the expected."""
    async with client.stream("GET", path, headers=headers) as answer:
        size = 0
        async for chunk in answer.aiter_bytes(MiB):
            size += len(chunk)
        expected = int(answer.headers.get("content-length", size))
        return answer.status_code if size == expected else -1


async def downloader(load: Load, client: httpx.AsyncClient) -> None:
    """A Mac installing the package: the whole file, then a resumed tail by range."""
    path = f"/Packages/{load.package}"
    tail = {"Range": f"bytes={load.soak.package_mib * MiB // 2}-"}
    stats = load.stats

    async def whole() -> httpx.Response:
        return httpx.Response(await _download(client, path, {}))

    async def ranged() -> httpx.Response:
        return httpx.Response(await _download(client, path, tail))

    while not load.stop.is_set():
        await stats.call("GET /Packages/{file}", whole(), (200,))
        await stats.call("GET /Packages/{file} (Range)", ranged(), (206,))
        await load.pause(load.soak.gap)


async def _tus(load: Load, client: httpx.AsyncClient, name: str) -> bool:
    """A tus upload in two pieces; whether every request succeeded."""
    stats, content = load.stats, load.upload
    headers = {**load.auth, "Tus-Resumable": "1.0.0"}
    metadata = "filename " + base64.b64encode(name.encode()).decode()
    created = await stats.call(
        "POST /api/v1/uploads/",
        client.post(
            "/api/v1/uploads/",
            headers={**headers, "Upload-Length": str(len(content)), "Upload-Metadata": metadata},
        ),
        (201,),
    )
    if created is None:
        return False
    location = created.headers["Location"]
    half = len(content) // 2
    for offset, piece in ((0, content[:half]), (half, content[half:])):
        sent = await stats.call(
            "PATCH /api/v1/uploads/{id}",
            client.patch(
                location,
                content=piece,
                headers={
                    **headers,
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                },
            ),
            (204,),
        )
        if sent is None:
            return False
    return True


async def uploader(load: Load, client: httpx.AsyncClient) -> None:
    """An admin uploading packages, plainly and with tus, and deleting them again."""
    stats, rounds = load.stats, 0
    while not load.stop.is_set():
        rounds += 1
        name = f"soak-{rounds}.pkg"
        if rounds % 2:
            stored = await stats.call(
                "PUT /api/v1/packages/{file}",
                client.put(f"/api/v1/packages/{name}", content=load.upload, headers=load.auth),
                (200, 201),
            )
            done = stored is not None
        else:
            done = await _tus(load, client, name)
        if done:
            await stats.call(
                "DELETE /api/v1/packages/{file}",
                client.delete(f"/api/v1/packages/{name}", headers=load.auth),
                (204,),
            )
        await load.pause(load.soak.gap)


def backup(count: int) -> bytes:
    """A PatchServer-style backup of ``count`` small titles, restored again and again."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(count):
            document = data.title(f"SoakRestore{i:02d}", 3)
            archive.writestr(f"patch_archive/SoakRestore{i:02d}.json", json.dumps(document))
    return buffer.getvalue()


async def writer(load: Load, client: httpx.AsyncClient) -> None:
    """An editor: a new version of one title and its oldest removed (so the title keeps its
    size), the whole of another title replaced, and now and then a backup restored."""
    stats, auth = load.stats, load.auth
    archive = backup(20)
    documents = [json.dumps(data.title(REPLACED, n)).encode() for n in (3, 4)]
    rounds = 0
    while not load.stop.is_set():
        newest = KEPT_VERSIONS + rounds
        version = data.version_string(newest)
        added = await stats.call(
            "POST /api/v1/titles/{id}/versions",
            client.post(
                f"/api/v1/titles/{WRITTEN}/versions",
                json=data.patch(WRITTEN, version, newest),
                headers=auth,
            ),
            (201,),
        )
        if added is not None:
            oldest = data.version_string(rounds)
            await stats.call(
                "DELETE /api/v1/titles/{id}/versions/{v}",
                client.delete(f"/api/v1/titles/{WRITTEN}/versions/{oldest}", headers=auth),
                (200, 204),
            )
            rounds += 1
        await stats.call(
            "PUT /api/v1/titles/{id}",
            client.put(
                f"/api/v1/titles/{REPLACED}",
                content=documents[rounds % 2],
                headers={**auth, "Content-Type": "application/json"},
            ),
            (200,),
        )
        if rounds % load.soak.restore_every == 0:
            await stats.call(
                "POST /api/v1/backups/restore",
                client.post(
                    "/api/v1/backups/restore",
                    params={"policy": "replace"},
                    content=archive,
                    headers={**auth, "Content-Type": "application/zip"},
                ),
                (200,),
            )
        await load.pause(load.soak.gap)


# -- memory of the server's processes ------------------------------------------------------------


def processes(pid: int) -> dict[int, str]:
    """``pid`` and its descendants, each named by its place: the server, its workers."""
    found = descendants(pid)
    return {each: "pomona serve" if each == pid else f"worker {n}" for n, each in enumerate(found)}


@dataclass
class Memory:
    names: dict[int, str]
    start: dict[int, int] = field(default_factory=dict)
    end: dict[int, int] = field(default_factory=dict)
    peak: dict[int, int] = field(default_factory=dict)

    def sample(self) -> dict[int, int]:
        now = {pid: resident(pid) for pid in self.names}
        for pid, value in now.items():
            self.peak[pid] = max(self.peak.get(pid, 0), value)
        return now

    async def watch(self, stop: asyncio.Event, every: float) -> None:
        while not stop.is_set():
            self.sample()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    def growth(self, pid: int) -> float:
        return (self.end[pid] - self.start[pid]) / self.start[pid] if self.start[pid] else 0.0


# -- the run --------------------------------------------------------------------------------------


async def soak_load(load: Load, memory: Memory) -> float:
    """Every workload until the time is up; the seconds measured after the warm-up."""
    limits = httpx.Limits(max_connections=load.soak.pollers + 8)
    async with (
        httpx.AsyncClient(base_url=load.url, timeout=60, limits=limits) as feed,
        httpx.AsyncClient(base_url=load.url, timeout=300) as admin,
    ):
        tasks = [asyncio.create_task(poller(load, feed, i)) for i in range(load.soak.pollers)]
        tasks += [asyncio.create_task(downloader(load, feed)) for _ in range(load.soak.downloaders)]
        tasks += [asyncio.create_task(uploader(load, admin))]
        tasks += [asyncio.create_task(writer(load, admin))]
        await asyncio.sleep(load.soak.warmup)
        memory.start = memory.sample()
        say(f"warm; memory at the start: {_mib(memory.start)}")
        watching = asyncio.create_task(memory.watch(load.stop, 5))
        started = time.monotonic()
        deadline = started + load.soak.minutes * 60
        while time.monotonic() < deadline:
            await asyncio.sleep(min(30.0, max(0.0, deadline - time.monotonic())))
            requests = sum(len(v) for v in load.stats.latencies.values())
            errors = sum(len(v) for v in load.stats.errors.values())
            say(
                f"{time.monotonic() - started:.0f} s: {requests} requests, {errors} errors; "
                f"memory {_mib(memory.sample())}"
            )
        elapsed = time.monotonic() - started
        load.stop.set()
        await asyncio.gather(*tasks, watching)
    await asyncio.sleep(5)  # what the server does once the load stops is part of the end state
    memory.end = memory.sample()
    return elapsed


def _mib(values: dict[int, int]) -> str:
    return ", ".join(f"{pid}: {value / MiB:.0f} MiB" for pid, value in values.items())


def _ms(values: list[float], share: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000:.1f}"


def report(load: Load, memory: Memory, elapsed: float, judged: bool) -> tuple[str, list[str]]:
    stats, failures = load.stats, []
    rows = []
    for label in sorted(stats.latencies.keys() | stats.errors.keys()):
        values, errors = stats.latencies.get(label, []), stats.errors.get(label, [])
        failures += [f"{label}: {e}" for e in errors[:3]]
        rows.append(
            [
                f"`{label}`",
                f"{len(values) + len(errors):,}",
                str(len(errors)),
                f"{len(values) / elapsed:.1f}",
                _ms(values, 0.5),
                _ms(values, 0.99),
                f"{max(values) * 1000:.0f}" if values else "-",
            ]
        )
    total = sum(len(v) for v in stats.latencies.values())
    failed = sum(len(v) for v in stats.errors.values())
    memory_rows = []
    for pid, name in memory.names.items():
        growth = memory.growth(pid)
        met = growth < GROWTH_TARGET
        if judged and not met:
            failures.append(f"{name} (pid {pid}) grew by {growth:.1%}")
        memory_rows.append(
            [
                name,
                f"{memory.start[pid] / MiB:.0f}",
                f"{memory.end[pid] / MiB:.0f}",
                f"{memory.peak.get(pid, 0) / MiB:.0f}",
                f"{growth:+.1%}",
                ("yes" if met else "**no**") if judged else "not judged (too short)",
            ]
        )
    header = ["endpoint", "requests", "errors", "req/s", "p50 ms", "p99 ms", "max ms"]
    text = (
        f"{total:,} requests in {elapsed:.0f} s after a {load.soak.warmup:g} s warm-up, "
        f"**{failed} errors** (target 0).\n\n" + table(header, rows) + "\n\n"
        "Resident memory of each process of the server, read after the warm-up (start) and 5 s "
        "after the load stopped (end); peak sampled every 5 s. Target: under 10% growth.\n\n"
        + table(
            ["process", "start MiB", "end MiB", "peak MiB", "growth", "target met"], memory_rows
        )
    )
    return text, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=None, help="length [default: 10]")
    parser.add_argument("--smoke", action="store_true", help="tiny data, seconds; for CI")
    parser.add_argument("--server", default="granian", help="variant of bench.procs [granian]")
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    soak = soak_profile(smoke=args.smoke, minutes=args.minutes)
    judged = soak.minutes >= JUDGED_FROM_MINUTES
    header = machine()
    with tempfile.TemporaryDirectory(prefix="pomona-soak-") as name:
        work = Path(name)
        profile = Profile(soak.titles, soak.big_versions, 0, (), 0, (), 0, 0, 0, 1)
        run = Run(profile, work, work / "data", work / "www")
        make_token(run)
        server = start_pomona(args.server, run.data_dir, work)
        with running([server]):
            text, failures = _soak(run, server, soak, judged)
    command = "uv run python -m bench.soak " + shlex.join(
        argv if argv is not None else sys.argv[1:]
    )
    out = (
        f"## Soak: `{command.strip()}`\n\n{header}; finished with load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}.\n\n"
        f"One `pomona serve` ({args.server}), {soak.titles} titles + one of {soak.big_versions} "
        f"versions; at once: Jamf pollers ({soak.pollers}, a round every {soak.poll_gap:g} s), "
        f"downloaders ({soak.downloaders}) of a {soak.package_mib} MiB package (whole, then by "
        f"range), one uploader of {soak.upload_mib} MiB packages (PUT and tus, each deleted "
        "again) and one editor (a version added and the oldest removed, a title replaced, "
        f"a backup of 20 titles restored every {soak.restore_every} rounds).\n\n{text}\n"
    )
    if failures:
        out += "\n**Failures:**\n\n" + "\n".join(f"- {f}" for f in failures) + "\n"
    print(out)
    if args.output:
        args.output.write_text(out)
    return 1 if failures else 0


def _soak(run: Run, server: Server, soak: Soak, judged: bool) -> tuple[str, list[str]]:
    load_titles(run, server)
    auth = run.auth()
    with httpx.Client(base_url=server.url, headers=auth, timeout=300) as client:
        for document in (data.title(WRITTEN, KEPT_VERSIONS), data.title(REPLACED, 3)):
            client.post("/api/v1/titles", json=document).raise_for_status()
        package = "soak.pkg"
        data.package_file(run.work / package, soak.package_mib)
        with (run.work / package).open("rb") as source:
            client.put(f"/api/v1/packages/{package}", content=source).raise_for_status()
    upload = os.urandom(soak.upload_mib * MiB)
    memory = Memory(processes(server.pid))
    say(f"soak for {soak.minutes:g} min against {server.url}; processes {memory.names}")
    load = Load(server.url, auth, soak, package, upload)
    elapsed = asyncio.run(soak_load(load, memory))
    return report(load, memory, elapsed, judged)


if __name__ == "__main__":
    sys.exit(main())
