"""Webhook delivery: throughput and latency, with real receivers on loopback.

1. **Throughput.** ``pomona serve`` runs with no queue workers while 1,000 events are written
   (title creations), each wanted by 3 signed endpoints; then one ``pomona worker`` starts and
   delivers the backlog: deliveries per second, from the first delivery to the last. The
   reference is the same number of POSTs sent straight to the receivers by one client.
2. **Latency.** With the worker running, events are written at 50 per second: the time from a
   write's answer (its commit) to each receiver getting its delivery, p50 and p99.

Every delivery is checked: each receiver must get each event (deduplicated on ``webhook-id``),
signed with its endpoint's secret; a loss fails the run. ``--smoke`` runs a few seconds, for CI.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from standardwebhooks.webhooks import Webhook

from bench import data
from bench.common import say, table
from bench.procs import Server, _start, free_port, pomona_env, running

RECEIVERS = 3


@dataclass
class Receiver:
    url: str = ""
    # webhook-id -> (arrival time, title id); repeats are counted apart.
    got: dict[str, tuple[float, str]] = field(default_factory=dict)
    repeats: int = 0
    bad: int = 0
    secret: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, headers: dict[str, str], body: bytes) -> None:
        at = time.monotonic()
        try:
            payload = Webhook(self.secret).verify(body, headers)
        except Exception:
            with self.lock:
                self.bad += 1
            return
        with self.lock:
            if headers["webhook-id"] in self.got:
                self.repeats += 1
            else:
                self.got[headers["webhook-id"]] = (at, payload["data"]["id"])


@contextmanager
def receiver() -> Iterator[Receiver]:
    found = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: with Nagle's algorithm on, the second waits
        # for the client's delayed ACK (40 ms), which would be measured as Pomona's.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if found.secret:
                found.take({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()


def environment(data_dir: Path, **extra: str) -> dict[str, str]:
    return pomona_env(data_dir) | {
        "POMONA_FETCH_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
        "POMONA_QUEUE_EMBEDDED_WORKERS": "0",
        "POMONA_PACKAGE_SCRUB_HOURS": "0",
        "POMONA_PACKAGE_CLEANUP_HOURS": "0",
        **extra,
    }


def start_server(work: Path, env: dict[str, str]) -> Server:
    port = free_port()
    command = [sys.executable, "-m", "pomona", "serve", "--port", str(port)]
    return _start("pomona", command, f"http://127.0.0.1:{port}", "/jamf/v1/", env, work)


def start_worker(work: Path, env: dict[str, str], threads: int) -> subprocess.Popen[bytes]:
    log = (work / "worker.log").open("wb")
    command = [sys.executable, "-m", "pomona", "worker", "--workers", str(threads)]
    return subprocess.Popen(command, cwd=work, env=env, stdout=log, stderr=log)


def token(work: Path, env: dict[str, str]) -> str:
    made = subprocess.run(
        [sys.executable, "-m", "pomona", "token", "create", "--name", "bench", "--scope", "admin"],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return made.stdout.strip()


def write(client: httpx.Client, title_id: str) -> float:
    """Create a small title; the time its answer came (the event has committed)."""
    client.post("/api/v1/titles", json=data.title(title_id, 2)).raise_for_status()
    return time.monotonic()


def wait_for(receivers: list[Receiver], count: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(len(r.got) >= count for r in receivers):
            return True
        time.sleep(0.05)
    return False


def direct_rate(url: str, requests: int) -> float:
    """Requests per second of one client POSTing a signed-size body straight to a receiver."""
    body = json.dumps({"type": "title.created", "data": {"id": "x" * 40}}).encode()
    with httpx.Client() as client:
        started = time.monotonic()
        for _ in range(requests):
            client.post(url, content=body).raise_for_status()
        return requests / (time.monotonic() - started)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def bench(
    work: Path, events: int, rate: float, seconds: float, threads: int
) -> tuple[str, list[str]]:
    failures: list[str] = []
    achieved: list[float] = []  # the write rate the server kept up with
    env = environment(work / "data")
    admin = {"Authorization": f"Bearer {token(work, env)}"}
    with receiver() as a, receiver() as b, receiver() as c, receiver() as plain:
        receivers = [a, b, c]
        server = start_server(work, env)
        with (
            running([server]),
            httpx.Client(base_url=server.url, headers=admin, timeout=60) as client,
        ):
            for found in receivers:
                made = client.post(
                    "/api/v1/webhooks/endpoints",
                    json={"url": found.url, "eventTypes": ["title.created"]},
                )
                made.raise_for_status()
                found.secret = made.json()["secret"]
            say(f"writing {events} events with no worker running")
            for n in range(events):
                write(client, f"Backlog{n}")
            say(f"delivering {events * RECEIVERS} with one worker ({threads} threads)")
            worker = start_worker(work, env, threads)
            try:
                if not wait_for(receivers, events, 600):
                    failures.append(f"backlog: only {[len(r.got) for r in receivers]} of {events}")
                arrivals = [t for r in receivers for t, _ in r.got.values()]
                spread = max(arrivals) - min(arrivals) if arrivals else 0.0
                throughput = len(arrivals) / spread if spread else 0.0
                reference = direct_rate(plain.url, min(events * RECEIVERS, 3000))
                latencies = latency(client, receivers, events, rate, seconds, failures, achieved)
            finally:
                worker.terminate()
                worker.wait(timeout=30)
        repeats = sum(r.repeats for r in receivers)
        bad = sum(r.bad for r in receivers)
        if bad:
            failures.append(f"{bad} deliveries failed verification")
    rows = [
        [
            f"backlog of {events} events x {RECEIVERS} endpoints, 1 worker of {threads} threads",
            f"{throughput:.0f} deliveries/s",
            f"{reference:.0f} POST/s straight to a receiver (one client)",
            f"{throughput / reference:.2f}" if reference else "-",
        ],
        [
            f"commit to delivery at {rate:g} events/s asked, {achieved[0]:.0f} written "
            f"({len(latencies)} deliveries)",
            f"p50 {statistics.median(latencies) * 1000:.0f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms"
            if latencies
            else "-",
            "webhook_poll_seconds 1 (default)",
            "",
        ],
    ]
    text = table(["measure", "Pomona", "reference", "ratio"], rows)
    text += (
        f"\n\nLost: {len(failures)} problems; repeated deliveries (dropped by webhook-id): "
        f"{repeats}.\n"
    )
    return text, failures


def latency(
    client: httpx.Client,
    receivers: list[Receiver],
    before: int,
    rate: float,
    seconds: float,
    failures: list[str],
    achieved: list[float],
) -> list[float]:
    count = int(rate * seconds)
    committed: dict[str, float] = {}
    say(f"writing {count} events at {rate:g}/s")
    started = time.monotonic()
    for n in range(count):
        title_id = f"Live{n}"
        committed[title_id] = write(client, title_id)
        pause = started + (n + 1) / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    achieved.append(count / (time.monotonic() - started))
    if not wait_for(receivers, before + count, 120):
        failures.append(f"live: only {[len(r.got) for r in receivers]} of {before + count}")
    return [
        at - committed[title_id]
        for r in receivers
        for at, title_id in r.got.values()
        if title_id in committed
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a few events; for CI")
    parser.add_argument("--events", type=int, default=1000, help="events in the backlog [1000]")
    parser.add_argument("--rate", type=float, default=50.0, help="events/s of the latency run")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the latency run")
    parser.add_argument("--threads", type=int, default=4, help="threads of the worker [4]")
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    events, seconds = (30, 2.0) if args.smoke else (args.events, args.seconds)
    rate = 10.0 if args.smoke else args.rate
    with tempfile.TemporaryDirectory(prefix="pomona-webhooks-") as name:
        text, failures = bench(Path(name), events, rate, seconds, args.threads)
    command = "uv run python -m bench.webhooks " + shlex.join(
        argv if argv is not None else sys.argv[1:]
    )
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    out = f"### Webhooks: `{command.strip()}`\n\nLoad average at the end: {load}.\n\n{text}"
    if failures:
        out += "\n**Failures:**\n\n" + "\n".join(f"- {f}" for f in failures) + "\n"
    print(out)
    if args.output:
        args.output.write_text(out)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
