"""A webhook receiver on loopback for the tests and the benchmark: it records every request,
answers what it is told to, and verifies Standard Webhooks signatures when given a secret."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when it arrived


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    # (request number from 0) -> (status, headers, body); the default answers 200.
    answer: Callable[[int, Received], tuple[int, dict[str, str], bytes]] = lambda _n, _r: (
        200,
        {},
        b"ok",
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ids(self) -> list[str]:
        with self.lock:
            return [r.headers.get("webhook-id", "") for r in self.received]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"the receiver got {len(self.received)} requests, not {count}")


@contextmanager
def receiving(path: str = "/hook") -> Iterator[Receiver]:
    """A threaded HTTP server on a free loopback port; stopped when the block ends."""
    box: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True  # no 40 ms wait for a delayed ACK between writes

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            got = Received(
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length),
                time.time(),
            )
            receiver = box[0]
            with receiver.lock:
                number = len(receiver.received)
                receiver.received.append(got)
            status, headers, body = receiver.answer(number, got)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    box.append(Receiver(f"http://127.0.0.1:{server.server_address[1]}{path}"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box[0]
    finally:
        server.shutdown()
        server.server_close()
