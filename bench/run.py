"""Pomona against the limit of the machine, in one run: ``uv run python -m bench.run``.

Starts Pomona (in each server variant asked for) and nginx on loopback, loads generated data
through Pomona's public API, writes the same bytes as static files for nginx, runs the load,
stops everything and prints a markdown table. ``--smoke`` runs the same code on tiny data in
seconds and exits non-zero if any request failed or any reader saw an invalid document; CI runs
it. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import data
from bench.common import Profile, Run, measure, ratio, say, table
from bench.load import feed_under_writes
from bench.procs import (
    DEFAULT_VARIANTS,
    SMOKE_VARIANTS,
    VARIANTS,
    Missing,
    PeakMemory,
    Server,
    need,
    pomona_env,
    rss_bytes,
    running,
    start_floor,
    start_nginx,
    start_nginx_front,
    start_pomona,
    version_of,
)

MiB = 1024 * 1024
SCENARIOS = ("feed", "fleet", "packages", "upload", "load")


FULL = Profile(500, 200, 10, (8, 32), 1024, (1, 8), 32, 20, 0.5, 3)
SMOKE = Profile(5, 10, 1, (4,), 8, (1, 2), 4, 4, 0.25, 1)


# -- setup ----------------------------------------------------------------------------------------


def make_token(run: Run) -> None:
    """Migrates the database and creates an admin token, as an admin would on the server."""
    done = subprocess.run(
        [sys.executable, "-m", "pomona", "token", "create", "--name", "bench", "--scope", "admin"],
        env=pomona_env(run.data_dir),
        cwd=run.work,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    run.token = done.stdout.strip()


def load_titles(run: Run, server: Server) -> str:
    titles, big = data.corpus(run.profile.titles, run.profile.big_versions)
    with httpx.Client(base_url=server.url, headers=run.auth(), timeout=60) as client:
        for document in titles:
            answer = client.post("/api/v1/titles", json=document)
            if answer.status_code != 201:
                raise RuntimeError(f"loading {document['id']}: {answer.status_code} {answer.text}")
    return big


# -- the Jamf feed ---------------------------------------------------------------------------------


def feed_paths(run: Run, big: str) -> dict[str, str]:
    ids = [f"App{i:04d}" for i in (0, run.profile.titles // 2, run.profile.titles - 1)]
    return {
        "/jamf/v1/software": "software.json",
        f"/jamf/v1/software/{','.join(ids)}": "software-3.json",
        f"/jamf/v1/patch/{big}": "patch-big.json",
    }


def write_static(run: Run, server: Server, paths: dict[str, str]) -> dict[str, Path]:
    """The bytes Pomona serves, as files for nginx: the same bodies, byte for byte."""
    routes = {}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for path, name in paths.items():
            answer = client.get(path)
            answer.raise_for_status()
            (run.www / name).write_bytes(answer.content)
            routes[path] = run.www / name
    return routes


def feed(
    run: Run, pomonas: list[Server], nginx: Server, floor: Server, paths: dict[str, str]
) -> None:
    rows = []
    met = True
    for path, name in paths.items():
        size = (run.www / name).stat().st_size
        for connections in run.profile.connections:
            reference = None
            # Interleaved: each Pomona figure is taken right after nginx's, so a change in the
            # machine's load during the run hits both sides alike.
            for server in [nginx, floor, *pomonas]:
                say(f"feed {path} c={connections} {server.name}")
                load = measure(run, server, path, connections)
                if reference is None:
                    reference = load
                verdict = ""
                if server not in (nginx, floor):
                    half = load.requests_per_second >= reference.requests_per_second / 2
                    fast = connections < 32 or load.p99_ms < 10
                    verdict = "yes" if half and fast else "**no**"
                    met = met and half and fast
                rows.append(
                    [
                        f"`{path.replace(',', ', ')}` ({size / 1024:.0f} KiB)",
                        str(connections),
                        server.name,
                        f"{load.requests_per_second:,.0f}",
                        f"{load.p50_ms:.2f}",
                        f"{load.p99_ms:.2f}",
                        str(load.errors),
                        ratio(load.requests_per_second, reference.requests_per_second),
                        verdict,
                    ]
                )
    header = ["endpoint", "conns", "server", "req/s", "p50 ms", "p99 ms", "errors", "x nginx"]
    header.append("target met")
    run.sections.append(
        f"### Jamf feed ({run.profile.titles} titles + one of {run.profile.big_versions} "
        f"versions; wrk, {run.profile.seconds:g} s per row)\n\n"
        "Target: at least 0.5 x nginx's requests/s, and p99 under 10 ms at 32 connections. "
        f"All met: **{'yes' if met else 'no'}**. *granian-floor* is granian answering the same "
        "bytes from a do-nothing RSGI application (`bench/floor.py`): the most a Python "
        "application under granian can serve here.\n\n" + table(header, rows)
    )


# -- the fleet: readers polling while an admin writes ----------------------------------------------


@dataclass
class Fleet:
    ack: dict[int, float] = field(default_factory=dict)  # version index -> write acknowledged
    reads: int = 0
    invalid: list[str] = field(default_factory=list)
    went_back: int = 0
    stale_reads: int = 0
    max_stale: float = 0.0
    errors: list[str] = field(default_factory=list)


def _index(version: str) -> int:
    major, minor, patch = (int(x) for x in version.split("."))
    return (major - 1) * 100 + minor * 10 + patch


def check_patch(document: Any, title_id: str) -> str | None:
    """Why a /patch document is not a valid, self-consistent title; ``None`` if it is."""
    if not isinstance(document, dict) or document.get("id") != title_id:
        return "not the title asked for"
    patches = document.get("patches")
    if not isinstance(patches, list) or not patches:
        return "no patches"
    versions = [p.get("version") for p in patches]
    if document.get("currentVersion") != versions[0]:
        return f"currentVersion {document.get('currentVersion')} is not the newest {versions[0]}"
    if versions != [data.version_string(i) for i in reversed(range(len(versions)))]:
        return "versions missing, repeated or out of order"
    for key in ("name", "publisher", "appName", "bundleId", "lastModified", "requirements"):
        if key not in document:
            return f"{key} missing"
    return None


def check_software(document: Any) -> str | None:
    if not isinstance(document, list) or not document:
        return "not a non-empty list"
    keys = {"id", "name", "publisher", "lastModified", "currentVersion"}
    if any(not isinstance(i, dict) or set(i) != keys for i in document):
        return "an entry without exactly the five summary fields"
    ids = [i["id"] for i in document]
    if ids != sorted(ids):
        return "entries not ordered by id"
    return None


async def _reader(
    run: Run, url: str, title_id: str, fleet: Fleet, stop: asyncio.Event, pause: float
) -> None:
    seen = -1
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        while not stop.is_set():
            for path in ("/jamf/v1/software", f"/jamf/v1/patch/{title_id}"):
                started = time.monotonic()
                try:
                    answer = await client.get(path)
                except httpx.HTTPError as exc:
                    fleet.errors.append(f"{path}: {exc!r}")
                    continue
                fleet.reads += 1
                # A title not there yet (a 404, or absent from /software) is a stale read of
                # its creation, not an invalid answer: another process may not have it yet.
                missing = path.endswith(title_id) and answer.status_code == 404
                if answer.status_code != 200 and not missing:
                    fleet.errors.append(f"{path}: HTTP {answer.status_code}")
                    continue
                try:
                    document = answer.json()
                except ValueError:
                    fleet.invalid.append(f"{path}: not JSON")
                    continue
                if missing:
                    problem, version = None, None
                elif path.endswith("/software"):
                    problem = check_software(document)
                    entry = next((i for i in document if i.get("id") == title_id), None)
                    version = entry["currentVersion"] if problem is None and entry else None
                else:
                    problem = check_patch(document, title_id)
                    version = document["currentVersion"] if problem is None else None
                if problem is not None:
                    fleet.invalid.append(f"{path}: {problem}")
                    continue
                index = -1 if version is None else _index(version)
                if index < seen:
                    fleet.went_back += 1
                seen = max(seen, index)
                # Every write acknowledged before this request started should be in its answer.
                missed = [t for i, t in fleet.ack.items() if i > index and t < started]
                if missed:
                    fleet.stale_reads += 1
                    fleet.max_stale = max(fleet.max_stale, started - min(missed))
            await asyncio.sleep(pause)


async def _fleet(run: Run, readers_url: str, writer_url: str) -> Fleet:
    title_id, fleet = "FleetTitle", Fleet()
    async with httpx.AsyncClient(base_url=writer_url, headers=run.auth(), timeout=30) as admin:
        answer = await admin.post("/api/v1/titles", json=data.title(title_id, 1))
        answer.raise_for_status()
        fleet.ack[0] = time.monotonic()
        stop = asyncio.Event()
        pause = 0.02 if run.profile is SMOKE else 0.05
        readers = [
            asyncio.create_task(_reader(run, readers_url, title_id, fleet, stop, pause))
            for _ in range(run.profile.readers)
        ]
        await asyncio.sleep(run.profile.write_gap)
        for index in range(1, run.profile.writes + 1):
            version = data.version_string(index)
            answer = await admin.post(
                f"/api/v1/titles/{title_id}/versions",
                json=data.patch(title_id, version, index),
                params={"reason": "fleet benchmark"},
            )
            if answer.status_code != 201:
                fleet.errors.append(f"write {version}: HTTP {answer.status_code} {answer.text}")
            fleet.ack[index] = time.monotonic()
            await asyncio.sleep(run.profile.write_gap)
        await asyncio.sleep(1.5)  # let every reader catch up with the last write
        stop.set()
        await asyncio.gather(*readers)
        await admin.delete(f"/api/v1/titles/{title_id}")
    return fleet


def fleet(run: Run, pomonas: list[Server]) -> None:
    rows = []
    for server in pomonas:
        say(f"fleet {server.name}: {run.profile.readers} readers, {run.profile.writes} writes")
        result = asyncio.run(_fleet(run, server.url, server.url))
        for problem in result.invalid[:5]:
            run.fail(f"{server.name}: a reader saw an invalid document: {problem}")
        for problem in result.errors[:5]:
            run.fail(f"{server.name}: fleet request failed: {problem}")
        if result.max_stale > 1.0:
            run.fail(f"{server.name}: a write took {result.max_stale:.2f} s to be served")
        rows.append(
            [
                server.name,
                str(run.profile.readers),
                str(run.profile.writes),
                f"{result.reads:,}",
                str(len(result.errors)),
                str(len(result.invalid)),
                str(result.stale_reads),
                f"{result.max_stale * 1000:.0f}",
                str(result.went_back),
            ]
        )
    header = ["server", "readers", "writes", "reads", "errors", "invalid docs"]
    header += ["stale reads", "longest stale ms", "went back"]
    run.sections.append(
        "### Fleet: Jamf Pro servers polling while an admin adds versions\n\n"
        "Each reader polls `/jamf/v1/software` and `/jamf/v1/patch/{title}` and checks every "
        "answer (JSON, the five summary fields, versions complete and in order, currentVersion "
        "the newest). A *stale read* started after a write was acknowledged and still lacked "
        "it; *longest stale* is the longest such wait (target: under 1 s). *Went back*: a "
        "reader saw an older version after a newer one.\n\n" + table(header, rows)
    )


# -- packages: downloads -------------------------------------------------------------------------


def _curl_download(url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", url],
        stdout=subprocess.PIPE,
        text=True,
    )


def download(
    run: Run, server: Server, path: str, clients: int, size: int, attempts: int = 2
) -> tuple[float, int]:
    """``clients`` concurrent curl downloads of the whole file, best of ``attempts``:
    (MB/s in all, peak RSS over every attempt)."""
    speeds, peak = [], 0
    for _ in range(attempts):
        with PeakMemory(server.pid) as memory:
            started = time.monotonic()
            procs = [_curl_download(server.url + path) for _ in range(clients)]
            outputs = [p.communicate(timeout=600)[0] for p in procs]
            elapsed = time.monotonic() - started
        for output in outputs:
            if output.split() != ["200", str(size)]:
                run.fail(f"{server.name} download of {path}: got {output!r}, expected 200 {size}")
        speeds.append(clients * size / elapsed / 1e6)
        peak = max(peak, memory.peak)
    return max(speeds), peak


def _download_target(server: Server) -> float:
    """The share of nginx's throughput each kind of server must reach."""
    if server.name == "nginx-front":
        return 0.95  # nginx sends the bytes; Pomona only answers the request
    return 0.9 if VARIANTS[server.name][0] == "granian" else 0.7


def packages(run: Run, pomonas: list[Server], nginx: Server, filename: str, size: int) -> None:
    """``pomonas`` may end with nginx in front of the first one (download offload)."""
    path = f"/Packages/{filename}"
    # Dirty pages from writing and uploading the file would be flushed during the first
    # measurement; flush them now, and read each copy once so that every server starts warm.
    os.sync()
    for server in [nginx, *pomonas]:
        download(run, server, path, 1, size, attempts=1)
    baseline = {s.name: rss_bytes(s.pid) for s in [nginx, *pomonas]}
    rows, met = [], True
    for clients in run.profile.clients:
        reference = None
        for server in [nginx, *pomonas]:
            say(f"download {clients} x {size // MiB} MiB from {server.name}")
            speed, peak = download(run, server, path, clients, size)
            if reference is None:
                reference = speed
            verdict = ""
            if server is not nginx:
                wanted = _download_target(server)
                flat = peak < baseline[server.name] + 64 * MiB
                verdict = "yes" if speed >= wanted * reference and flat else "**no**"
                met = met and verdict == "yes"
            rows.append(
                [
                    str(clients),
                    server.name,
                    f"{speed:,.0f}",
                    ratio(speed, reference),
                    f"{baseline[server.name] / MiB:.0f} / {peak / MiB:.0f}",
                    verdict,
                ]
            )
    header = ["clients", "server", "MB/s", "x nginx", "RSS MiB idle / peak", "target met"]
    run.sections.append(
        f"### Package downloads ({size // MiB} MiB file, `/Packages/...`, curl clients, "
        "best of 2)\n\n"
        "Target: at least 0.7 x nginx (sendfile) with uvicorn, 0.9 x with granian, 0.95 x for "
        "nginx in front of Pomona with `download_offload = x-accel-redirect` (`nginx-front`: "
        "Pomona checks each request, nginx sends the file), memory flat whatever the file size "
        "(here: peak RSS within 64 MiB of the idle server's). All met: "
        f"**{'yes' if met else 'no'}**.\n\n" + table(header, rows)
    )


def verify_download(run: Run, server: Server, filename: str, sha256: str) -> None:
    """One download hashed on arrival: the throughput figures measure the right bytes."""
    digest = hashlib.sha256()
    with httpx.stream("GET", f"{server.url}/Packages/{filename}", timeout=600) as answer:
        for chunk in answer.iter_bytes(MiB):
            digest.update(chunk)
    if digest.hexdigest() != sha256:
        run.fail(f"{server.name} served /Packages/{filename} with the wrong content")


# -- packages: upload ingest ----------------------------------------------------------------------


def _timed(command: list[str]) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} failed: {done.stderr}")
    return elapsed, done.stdout


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def put(run: Run, server: Server, source: Path, filename: str) -> tuple[float, dict[str, Any]]:
    elapsed, out = _timed(
        [
            "curl", "-sS", "-T", str(source), "-H", "Expect:",
            "-H", f"Authorization: Bearer {run.token}",
            f"{server.url}/api/v1/packages/{filename}",
        ]
    )  # fmt: skip
    return elapsed, json.loads(out)


def tus(run: Run, server: Server, source: Path, filename: str) -> tuple[float, str]:
    """Creation plus one PATCH with the whole file, as tus clients do for a local file."""
    import base64

    size = source.stat().st_size
    headers = {**run.auth(), "Tus-Resumable": "1.0.0"}
    started = time.monotonic()
    created = httpx.post(
        f"{server.url}/api/v1/uploads/",
        headers=headers
        | {
            "Upload-Length": str(size),
            "Upload-Metadata": "filename " + base64.b64encode(filename.encode()).decode(),
        },
    )
    created.raise_for_status()
    _, out = _timed(
        [
            "curl", "-sS", "-D", "-", "-o", "/dev/null", "-X", "PATCH", "-T", str(source),
            "-H", "Expect:", "-H", f"Authorization: Bearer {run.token}",
            "-H", "Tus-Resumable: 1.0.0", "-H", "Upload-Offset: 0",
            "-H", "Content-Type: application/offset+octet-stream",
            created.headers["Location"],
        ]
    )  # fmt: skip
    elapsed = time.monotonic() - started
    found = [
        line.split(":", 1)[1].strip()
        for line in out.splitlines()
        if line.lower().startswith("pomona-package-sha256:")
    ]
    return elapsed, found[0] if found else ""


def upload(run: Run, pomonas: list[Server], source: Path, sha256: str) -> None:
    size = source.stat().st_size
    say(f"sha256sum of {size // MiB} MiB")
    reference = _median([_timed(["sha256sum", str(source)])[0] for _ in range(run.profile.repeats)])
    rows = [["sha256sum", "-", f"{reference:.2f}", f"{size / reference / 1e6:,.0f}", "1.00", ""]]
    # What the same digests cost with the standard tools, one after another: Pomona computes
    # SHA-256, MD5 and SHA-512 (and a SHA-256 per chunk), sha256sum only the first.
    tools = _median(
        [
            sum(_timed([tool, str(source)])[0] for tool in ("sha256sum", "md5sum", "sha512sum"))
            for _ in range(run.profile.repeats)
        ]
    )
    rows.append(
        [
            "sha256sum + md5sum + sha512sum",
            "-",
            f"{tools:.2f}",
            f"{size / tools / 1e6:,.0f}",
            f"{tools / reference:.2f}",
            "",
        ]
    )
    met = True
    for server in pomonas:
        for kind in ("PUT", "tus"):
            times = []
            for attempt in range(run.profile.repeats):
                say(f"upload {kind} #{attempt + 1} to {server.name}")
                name = f"up-{server.name}-{kind.lower()}-{attempt}.pkg"
                if kind == "PUT":
                    elapsed, record = put(run, server, source, name)
                    got = record.get("sha256", "")
                else:
                    elapsed, got = tus(run, server, source, name)
                if got != sha256:
                    run.fail(f"{server.name} {kind}: stored SHA-256 {got!r}, expected {sha256}")
                times.append(elapsed)
            median = _median(times)
            good = median <= 1.5 * reference
            met = met and good
            rows.append(
                [
                    kind,
                    server.name,
                    f"{median:.2f}",
                    f"{size / median / 1e6:,.0f}",
                    f"{median / reference:.2f}",
                    "yes" if good else "**no**",
                ]
            )
    run.sections.append(
        f"### Upload ingest ({size // MiB} MiB, median of {run.profile.repeats})\n\n"
        "Time from the first byte sent to the package published (SHA-256, MD5, SHA-512 and the "
        "chunk manifest in one pass, fsync, stored), beside `sha256sum` of the same file from "
        f"the page cache. Target: within 1.5 x `sha256sum`. All met: "
        f"**{'yes' if met else 'no'}**.\n\n"
        + table(["upload", "server", "seconds", "MB/s", "x sha256sum", "target met"], rows)
    )


# -- the run ------------------------------------------------------------------------------------


def machine() -> str:
    load = os.getloadavg()
    cpus = len(os.sched_getaffinity(0))
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.node() or 'host'}: {cpus} cores "
        f"(os.cpu_count {os.cpu_count()}), {platform.machine()}, Python "
        f"{platform.python_version()}, {version_of(['nginx', '-v'])}, "
        f"{version_of(['wrk', '-v'])}; load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


@contextlib.contextmanager
def workdir(keep: bool) -> Iterator[Path]:
    if keep:
        yield Path(tempfile.mkdtemp(prefix="pomona-bench-"))
        return
    with tempfile.TemporaryDirectory(prefix="pomona-bench-") as name:
        yield Path(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny data, seconds; for CI")
    parser.add_argument("--only", action="append", choices=SCENARIOS, help="repeatable")
    parser.add_argument(
        "--servers",
        default=None,
        help=f"comma-separated Pomona variants: {', '.join(VARIANTS)} "
        f"[default: {','.join(DEFAULT_VARIANTS)}; smoke: {','.join(SMOKE_VARIANTS)}]",
    )
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args(argv)
    profile = SMOKE if args.smoke else FULL
    scenarios = args.only or list(SCENARIOS)
    if args.servers:
        variants = args.servers.split(",")
    else:
        variants = list(SMOKE_VARIANTS if args.smoke else DEFAULT_VARIANTS)
    for variant in variants:
        if variant not in VARIANTS:
            parser.error(f"unknown server variant {variant!r}")
    try:
        for tool in ("wrk", "nginx", "curl", "sha256sum"):
            need(tool)
    except Missing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    started = time.monotonic()
    header = machine()
    with workdir(args.keep) as work:
        run = Run(profile, work, work / "data", work / "www")
        run.www.mkdir()
        (run.www / "Packages").mkdir()
        say(f"scratch directory {work}")
        make_token(run)
        main_server = start_pomona(variants[0], run.data_dir, work)
        with running([main_server]):
            big = load_titles(run, main_server)
            paths = feed_paths(run, big)
            routes = write_static(run, main_server, paths)
            filename, sha256, size = "bench.pkg", "", profile.file_mib * MiB
            if {"packages", "upload"} & set(scenarios):
                source = run.www / "Packages" / filename
                say(f"writing {profile.file_mib} MiB package")
                sha256 = data.package_file(source, profile.file_mib)
                _, record = put(run, main_server, source, filename)
                if record.get("sha256") != sha256:
                    raise RuntimeError(f"loading the package failed: {record}")
            others = [start_pomona(v, run.data_dir, work) for v in variants[1:]]
            nginx_workers = "1" if args.smoke else "auto"
            nginx = start_nginx(run.www, work, routes, workers=nginx_workers)
            floor = start_floor(routes, work)
            with running([*others, nginx, floor]):
                pomonas = [main_server, *others]
                if "feed" in scenarios:
                    feed(run, pomonas, nginx, floor, paths)
                if "fleet" in scenarios:
                    fleet(run, pomonas)
                if "packages" in scenarios:
                    front = start_nginx_front(
                        work, main_server.url, run.data_dir / "packages", nginx_workers
                    )
                    with running([front]):
                        for server in [*pomonas, front]:
                            verify_download(run, server, filename, sha256)
                        packages(run, [*pomonas, front], nginx, filename, size)
                if "upload" in scenarios:
                    upload(run, pomonas, run.www / "Packages" / filename, sha256)
            # Last, and with the other servers stopped: it rewrites the titles, and Pomona
            # alone on the machine is what its target is about.
            if "load" in scenarios:
                feed_under_writes(run, main_server, big)
        if args.keep:
            say(f"kept {work}")

    command = "uv run python -m bench.run " + shlex.join(argv if argv is not None else sys.argv[1:])
    servers = "; ".join(f"**{v}**: {VARIANTS[v][2]}" for v in variants)
    report = (
        f"## Benchmark: `{command.strip()}`\n\n"
        f"{header}; finished with load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} after "
        f"{time.monotonic() - started:.0f} s.\n\n"
        f"Pomona servers: {servers}. nginx: worker_processes "
        f"{'1' if args.smoke else 'auto'}, sendfile on, access_log off. Every server, wrk "
        "(2 threads) and curl share all the machine's cores; nothing is pinned.\n\n"
        "Absolute numbers vary between runs and machines; the ratios to the reference taken "
        "in the same run are what count.\n\n" + "\n\n".join(run.sections) + "\n"
    )
    if run.failures:
        report += "\n**Failures:**\n\n" + "\n".join(f"- {f}" for f in run.failures) + "\n"
    print(report)
    if args.output:
        args.output.write_text(report)
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main())
