"""The processes a benchmark run starts: Pomona in its server variants, nginx, and load tools.

Everything listens on 127.0.0.1 on free ports and is stopped by the run that started it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
LUA = HERE / "latency.lua"


class Missing(RuntimeError):
    """A tool the run needs (wrk, nginx, curl) is not installed."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def need(tool: str) -> str:
    path = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")
    if path is None:
        raise Missing(
            f"{tool} is not installed; on Debian: apt-get install wrk nginx-light curl caddy"
        )
    return path


# -- memory -----------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields start after the last ")".
        ppid = int(stat.rpartition(")")[2].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def descendants(pid: int) -> list[int]:
    """``pid`` and every process under it (a server's workers), parents first."""
    tree, found, todo = _children(), [], [pid]
    while todo:
        current = todo.pop(0)
        found.append(current)
        todo.extend(tree.get(current, []))
    return found


def resident(pid: int) -> int:
    """Resident memory of ``pid`` alone; 0 once it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants (workers included)."""
    return sum(resident(each) for each in descendants(pid))


class PeakMemory:
    """Samples a process tree's RSS every ``every`` seconds while the block runs."""

    def __init__(self, pid: int, every: float = 0.05) -> None:
        self.pid, self.every = pid, every
        self.before = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, rss_bytes(self.pid))

    def __enter__(self) -> PeakMemory:
        self.before = self.peak = rss_bytes(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


# -- servers ------------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    notes: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            # Each server leads its own process group (start_new_session), so this reaches its
            # workers and nothing else.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def _start(
    name: str, command: list[str], url: str, probe: str, env: dict[str, str], cwd: Path
) -> Server:
    log = cwd / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=out, start_new_session=True
        )
    server = Server(name, url, process, log)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + probe, timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"{name} did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def pomona_env(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "POMONA_DATA_DIR": str(data_dir),
        "POMONA_HOST": "127.0.0.1",
        # Access logs off on both sides: nginx is configured with access_log off.
        "POMONA_LOG_LEVEL": "warning",
        # Only requests on which nginx-front announces X-Sendfile-Type are handed over; direct
        # ones are served by Pomona as without the setting.
        "POMONA_DOWNLOAD_OFFLOAD": "x-accel-redirect",
    }


# name: (server, worker processes, description); every variant is ``pomona serve``.
VARIANTS: dict[str, tuple[str, int, str]] = {
    "granian": ("granian", 1, "pomona serve: one granian worker, RSGI (the default)"),
    "granian-asgi": (
        "granian",
        1,
        "pomona serve with granian_interface = asgi: one granian worker, every request by ASGI",
    ),
    "granian-2w": ("granian", 2, "pomona serve --workers 2: two granian workers"),
    "uvicorn": ("uvicorn", 1, "pomona serve --server uvicorn: one uvicorn process"),
    "uvicorn-2w": ("uvicorn", 2, "pomona serve --server uvicorn --workers 2"),
}
# Settings of a variant beyond its server and workers.
VARIANT_ENV = {"granian-asgi": {"POMONA_GRANIAN_INTERFACE": "asgi"}}
DEFAULT_VARIANTS = ("granian", "granian-asgi", "granian-2w", "uvicorn")
SMOKE_VARIANTS = ("granian", "uvicorn")  # both servers, so that neither path can rot


def start_pomona(variant: str, data_dir: Path, cwd: Path) -> Server:
    server, workers, _ = VARIANTS[variant]
    port = free_port()
    env = pomona_env(data_dir) | {"POMONA_PORT": str(port)} | VARIANT_ENV.get(variant, {})
    command = [sys.executable, "-m", "pomona", "serve", "--server", server]
    command += ["--workers", str(workers)]
    return _start(variant, command, f"http://127.0.0.1:{port}", "/jamf/v1/", env, cwd)


def start_floor(routes: dict[str, Path], cwd: Path) -> Server:
    """granian serving ``routes`` through the do-nothing application of :mod:`bench.floor`."""
    port = free_port()
    env = {**os.environ, "BENCH_FLOOR_ROUTES": json.dumps({k: str(v) for k, v in routes.items()})}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).parent.parent), env.get("PYTHONPATH", "")]
    )
    command = [sys.executable, "-m", "granian", "--interface", "rsgi", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning", "bench.floor:app"]
    probe = next(iter(routes), "/")
    return _start("granian-floor", command, f"http://127.0.0.1:{port}", probe, env, cwd)


NGINX_CONF = """\
worker_processes {workers};
user root;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    client_body_temp_path {dir}/nginx-tmp;
    proxy_temp_path {dir}/nginx-tmp;
    fastcgi_temp_path {dir}/nginx-tmp;
    uwsgi_temp_path {dir}/nginx-tmp;
    scgi_temp_path {dir}/nginx-tmp;
    server {{
        listen 127.0.0.1:{port};
        root {www};
{locations}
    }}
}}
"""


def start_nginx(www: Path, cwd: Path, routes: dict[str, Path], workers: str = "auto") -> Server:
    """nginx serving ``routes`` (URL path -> file) and everything under ``www`` as it lies."""
    binary = need("nginx")
    port = free_port()
    (cwd / "nginx-tmp").mkdir(exist_ok=True)
    locations = "\n".join(
        f"        location = {path} {{ default_type application/json; alias {file}; }}"
        for path, file in routes.items()
    )
    conf = cwd / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(workers=workers, dir=cwd, port=port, www=www, locations=locations or "")
    )
    command = [binary, "-p", str(cwd), "-c", str(conf), "-e", str(cwd / "nginx-error.log")]
    probe = next(iter(routes), "/")
    return _start("nginx", command, f"http://127.0.0.1:{port}", probe, dict(os.environ), cwd)


# The front-server configuration docs/deployment.md gives for download offload: nginx proxies
# everything to Pomona, announces that it takes X-Accel-Redirect, and sends the files Pomona
# names from an internal location mapped onto the package directory.
NGINX_FRONT = """\
        location / {{
            proxy_pass {upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Sendfile-Type X-Accel-Redirect;
            proxy_request_buffering off;
            proxy_buffering off;
        }}
        location /_pomona_packages/ {{
            internal;
            alias {packages}/;
            etag off;
            add_header ETag $upstream_http_etag;
        }}
"""


def start_nginx_front(cwd: Path, upstream: str, packages: Path, workers: str = "auto") -> Server:
    """nginx in front of the Pomona at ``upstream``, sending ``packages`` when Pomona says so."""
    binary = need("nginx")
    port = free_port()
    (cwd / "nginx-tmp").mkdir(exist_ok=True)
    conf = cwd / "nginx-front.conf"
    locations = NGINX_FRONT.format(upstream=upstream, packages=packages.resolve())
    conf.write_text(
        NGINX_CONF.format(workers=workers, dir=cwd, port=port, www=cwd, locations=locations)
    )
    command = [binary, "-p", str(cwd), "-c", str(conf), "-e", str(cwd / "nginx-error.log")]
    return _start("nginx-front", command, f"http://127.0.0.1:{port}", "/jamf/v1/", {}, cwd)


# The same for Caddy, as docs/deployment.md gives it.
CADDY_FRONT = """\
{{
	admin off
	auto_https off
}}
http://127.0.0.1:{port} {{
	reverse_proxy {upstream} {{
		header_up X-Sendfile-Type X-Accel-Redirect
		@offload header X-Accel-Redirect *
		handle_response @offload {{
			root * {packages}
			rewrite * {{rp.header.X-Accel-Redirect}}
			uri strip_prefix /_pomona_packages
			copy_response_headers {{
				include Cache-Control Content-Type
			}}
			# Pomona's ETag (the content's SHA-256), set after file_server's own.
			header {{
				ETag {{rp.header.Etag}}
				defer
			}}
			file_server
		}}
	}}
}}
"""


def start_caddy_front(cwd: Path, upstream: str, packages: Path) -> Server:
    """Caddy in front of the Pomona at ``upstream``, sending ``packages`` when Pomona says so."""
    binary = need("caddy")
    port = free_port()
    conf = cwd / "Caddyfile"
    conf.write_text(CADDY_FRONT.format(port=port, upstream=upstream, packages=packages.resolve()))
    command = [binary, "run", "--config", str(conf), "--adapter", "caddyfile"]
    env = {"HOME": str(cwd), "XDG_DATA_HOME": str(cwd), "XDG_CONFIG_HOME": str(cwd)}
    return _start("caddy-front", command, f"http://127.0.0.1:{port}", "/jamf/v1/", env, cwd)


@contextlib.contextmanager
def running(servers: list[Server]) -> Iterator[list[Server]]:
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


# -- wrk ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


def wrk(url: str, connections: int, seconds: float) -> Load:
    binary = need("wrk")
    threads = max(1, min(2, connections))
    command = [binary, "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s"]
    command += ["-s", str(LUA), url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
    data = json.loads(line.removeprefix("BENCH "))
    return Load(
        requests_per_second=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=data["socket_errors"] + data["non_2xx"],
        requests=data["requests"],
    )


def version_of(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (done.stdout + done.stderr).strip().splitlines()
    return text[0] if text else "?"
