"""Pushing a package to Jamf Cloud, against the limit of the same S3, in one run:
``uv run python -m bench.jamf_push``.

Starts moto's S3 server, the Jamf Pro simulator (tests/fixtures/jamf_pro.py, with its proxy that
enforces the temporary credentials) and ``pomona serve``; stores one file in Pomona, pushes it
to the simulator, and uploads the same file to the same S3 (through the same proxy) with plain
boto3 multipart at the same part size and concurrency. Prints a markdown table: seconds and MiB/s
of each, and the ratio (target: Pomona's upload step within 1.25x of boto3's). Tokens and
credentials expire every ``--expiry`` seconds, so a long push renews both while it runs
(``--size-mib 5120 --expiry 60`` is the 5 GiB run). ``--smoke`` runs the same code on a small
file in seconds and exits non-zero if the push fails; CI runs it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench.common import say, table
from bench.procs import Server, _start, descendants, free_port, pomona_env

ROOT = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024
TARGET = 1.25


def _file(path: Path, size: int) -> None:
    """Random bytes (incompressible, as packages are), written in 8 MiB blocks."""
    with path.open("wb") as out:
        left = size
        while left:
            block = os.urandom(min(left, 8 * MiB))
            out.write(block)
            left -= len(block)


@contextlib.contextmanager
def _stack(work: Path, args: argparse.Namespace) -> Iterator[tuple[str, str, str, Server]]:
    """moto, the simulator and Pomona, each a process; (s3 proxy, simulator, pomona, pomona)."""
    servers: list[Server] = []
    try:
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        # The simulator is a test fixture (tests/fixtures): the clone's root on the path finds it
        # from the scratch directory the processes run in.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        port = free_port()
        moto = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        s3 = f"http://127.0.0.1:{port}"
        servers.append(_start("moto", moto, s3, "/", env, work))
        api, proxy = free_port(), free_port()
        simulator = [
            *(sys.executable, "-m", "tests.fixtures.jamf_pro_run", "--s3", s3),
            *("--bucket", "jcds", "--port", str(api), "--proxy-port", str(proxy)),
            *("--token-seconds", str(args.expiry), "--credential-seconds", str(args.expiry)),
        ]
        jamf = f"http://127.0.0.1:{api}"
        servers.append(_start("jamf", simulator, jamf, "/healthCheckPage", env, work))
        web = free_port()
        pomona = pomona_env(work / "pomona-data") | {
            "POMONA_PORT": str(web),
            "POMONA_FETCH_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
            "POMONA_JAMF_S3_ENDPOINT_URL": f"http://127.0.0.1:{proxy}",
            "POMONA_JAMF_PART_MIB": str(args.part_mib),
            "POMONA_JAMF_UPLOAD_STREAMS": str(args.streams),
            "POMONA_PACKAGE_MAX_BYTES": str(64 * 1024 * MiB),
            # No scrub or cleanup reading the store while the push is measured.
            "POMONA_PACKAGE_SCRUB_HOURS": "0",
            "POMONA_PACKAGE_CLEANUP_HOURS": "0",
            "POMONA_JAMF_RULES_MINUTES": "0",
        }
        command = [sys.executable, "-m", "pomona", "serve", "--server", "uvicorn"]
        url = f"http://127.0.0.1:{web}"
        servers.append(_start("pomona", command, url, "/jamf/v1/", pomona, work))
        yield f"http://127.0.0.1:{proxy}", jamf, url, servers[-1]
    finally:
        for server in reversed(servers):
            server.stop()


def _token(work: Path) -> str:
    env = pomona_env(work / "pomona-data")
    made = subprocess.run(
        [sys.executable, "-m", "pomona", "token", "create", "--name", "bench", "--scope", "admin"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return made.stdout.strip().splitlines()[-1]


def push(pomona: str, jamf: str, token: str, path: Path) -> tuple[dict[str, Any], float, float]:
    """Store the file, push it; the push, its upload step's seconds and the whole push's."""
    headers = {"Authorization": f"Bearer {token}"}
    with (
        httpx.Client(base_url=pomona, headers=headers, timeout=3600) as client,
        path.open("rb") as f,
    ):
        stored = client.put(f"/api/v1/packages/{path.name}", content=f)
        assert stored.status_code == 201, stored.text
        connection = {
            "name": "bench",
            "url": jamf,
            "clientId": "pomona-client",
            "clientSecret": "client-secret",
        }
        assert client.post("/api/v1/jamf/connections", json=connection).status_code == 201
        begun = time.perf_counter()
        started = client.post(
            "/api/v1/jamf/pushes", json={"filename": path.name, "connection": "bench"}
        ).json()
        while True:
            found = client.get(started["url"]).json()
            if found["status"] in ("succeeded", "failed"):
                break
            time.sleep(1.0)  # seldom: each look costs the server CPU the upload could use
        ended = time.perf_counter()
        job = client.get(found["jobUrl"]).json()
    # The upload step as the push itself timed it (credentials, multipart, completion).
    upload = float((job.get("result") or {}).get("uploadSeconds") or ended - begun)
    return {**found, "job": job}, upload, ended - begun


def boto3_upload(proxy: str, path: Path, part_mib: int, streams: int) -> float:
    import boto3
    from boto3.s3.transfer import TransferConfig

    s3 = boto3.client(
        "s3",
        endpoint_url=proxy,
        region_name="us-east-1",
        aws_access_key_id="testing",  # a key the proxy accepts without expiry
        aws_secret_access_key="testing",  # noqa: S106 (the S3 stand-in's fixed key)
    )
    config = TransferConfig(
        multipart_threshold=part_mib * MiB,
        multipart_chunksize=part_mib * MiB,
        max_concurrency=streams,
    )
    begun = time.perf_counter()
    s3.upload_file(str(path), "jcds", f"baseline/{uuid.uuid4().hex}", Config=config)
    return time.perf_counter() - begun


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of ``pid`` and its descendants so far."""
    total = 0.0
    for each in descendants(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def rate(size: int, seconds: float) -> str:
    return f"{size / MiB / seconds:.1f}" if seconds > 0 else "-"


def run(args: argparse.Namespace, work: Path) -> tuple[str, list[str]]:
    size = args.size_mib * MiB
    path = work / "Bench.pkg"
    say(f"writing a {args.size_mib} MiB file")
    _file(path, size)
    failures: list[str] = []
    with _stack(work, args) as (proxy, jamf, pomona, _server):
        token = _token(work)
        # The reference runs before and after the push, so that a machine busier in one half
        # of the run than in the other does not tilt the comparison; their mean is the reference.
        say("boto3 multipart upload (reference, before)")
        cpu = os.times()
        before = boto3_upload(proxy, path, args.part_mib, args.streams)
        reference_cpu = os.times().user - cpu.user + os.times().system - cpu.system
        say("pomona jamf push")
        server_cpu = cpu_seconds(_server.pid)
        found, upload, whole = push(pomona, jamf, token, path)
        server_cpu = cpu_seconds(_server.pid) - server_cpu
        say("boto3 multipart upload (reference, after)")
        after = boto3_upload(proxy, path, args.part_mib, args.streams)
    reference = (before + after) / 2
    if found["status"] != "succeeded":
        failures.append(f"the push failed: {found['job'].get('errors')}")
    ratio = upload / reference if reference else 0.0
    if not args.smoke and ratio > TARGET:
        failures.append(f"the push's upload took {ratio:.2f}x boto3's (target {TARGET}x)")
    result = found["job"].get("result") or {}
    renewals = result.get("credentialRenewals", "-")
    parts = float(result.get("partsSeconds") or 0.0)
    rows = [
        ["boto3 upload_file (multipart), mean", f"{reference:.2f}", rate(size, reference), "1.00"],
        [
            "boto3, before the push",
            f"{before:.2f}",
            rate(size, before),
            f"{before / reference:.2f}",
        ],
        ["boto3, after the push", f"{after:.2f}", rate(size, after), f"{after / reference:.2f}"],
        ["Pomona push: upload step", f"{upload:.2f}", rate(size, upload), f"{ratio:.2f}"],
        [
            "Pomona push: of which sending the parts",
            f"{parts:.2f}",
            rate(size, parts),
            f"{parts / reference:.2f}" if reference else "-",
        ],
        [
            "Pomona push: whole (record, upload, hash, inventory, verify)",
            f"{whole:.2f}",
            rate(size, whole),
            f"{whole / reference:.2f}" if reference else "-",
        ],
    ]
    text = "\n".join(
        [
            "### Jamf Cloud push",
            "",
            f"{args.size_mib} MiB, parts of {args.part_mib} MiB, {args.streams} streams, tokens "
            f"and credentials expiring every {args.expiry:g} s ({renewals} credential renewals "
            f"during the push); moto's S3 behind the simulator's credential proxy, on loopback.",
            "",
            table(["upload", "seconds", "MiB/s", "x boto3"], rows),
            "",
            f"Target: the upload step within {TARGET}x of boto3's. CPU seconds of the uploader: "
            f"boto3 (before) {reference_cpu:.1f}, Pomona's server during the whole push "
            f"(storing the package excluded) {server_cpu:.1f}.",
        ]
    )
    return text, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.jamf_push", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a small file, seconds; for CI")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--part-mib", type=int, default=16)
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--expiry", type=float, default=60.0, help="token/credential seconds")
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    if args.smoke:
        args.size_mib, args.part_mib, args.expiry = 24, 5, 5.0
    with tempfile.TemporaryDirectory(prefix="pomona-bench-jamf-") as scratch:
        text, failures = run(args, Path(scratch))
    if failures:
        text += "\n\n### Failures\n\n" + "\n".join(f"- {f}" for f in failures)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
