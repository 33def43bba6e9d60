"""The blocking reader a transfer's streams use, against a peer on loopback whose answers each
test scripts: chunks in the sizes asked, one connection kept for several requests, refusals,
short answers, a connection the peer closed while idle, and a read woken by ``close``."""

from __future__ import annotations

import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
import trustme

from pomona.replication.client import PeerError, Ranged
from pomona.replication.ranges import RangeReader

DATA = bytes(range(256)) * 64  # 16 KiB

Answer = Callable[[socket.socket, int], None]  # (connection, request number on it)


def _read_request(connection: socket.socket) -> bool:
    seen = b""
    while b"\r\n\r\n" not in seen:
        piece = connection.recv(4096)
        if not piece:
            return False
        seen += piece
    return True


def _partial(body: bytes, length: int | None = None, close: bool = False) -> bytes:
    head = (
        "HTTP/1.1 206 Partial Content\r\n"
        f"Content-Length: {len(body) if length is None else length}\r\n"
        f"Content-Range: bytes 0-{len(body) - 1}/{len(DATA)}\r\n"
        + ("Connection: close\r\n" if close else "")
        + "\r\n"
    )
    return head.encode() + body


@contextmanager
def peer(answer: Answer, tls: ssl.SSLContext | None = None) -> Iterator[tuple[str, list[int]]]:
    """A peer answering each request with ``answer`` (over TLS with ``tls``); the URL, and the
    requests per connection."""
    connections: list[int] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            connections.append(0)
            mine = len(connections) - 1
            connection = self.request
            if tls is not None:
                try:
                    connection = tls.wrap_socket(connection, server_side=True)
                except (ssl.SSLError, OSError):
                    return  # the client refused the certificate
            while _read_request(connection):
                connections[mine] += 1
                answer(connection, connections[mine])

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", connections
    finally:
        server.shutdown()
        server.server_close()


def ranged(url: str, size: int = len(DATA)) -> Ranged:
    return Ranged(url, f"{url}/api/v1/replication/peer/blobs/x", {"Range": "bytes=0-"}, None, size)


def test_chunks_come_in_the_sizes_asked_over_one_kept_connection() -> None:
    def answer(connection: socket.socket, _: int) -> None:
        connection.sendall(_partial(DATA))

    with peer(answer) as (url, connections):
        reader = RangeReader(timeout=5)
        for _ in range(3):
            got = list(reader.chunks(ranged(url), [4096, 4096, 8192]))
            assert [len(piece) for piece in got] == [4096, 4096, 8192]
            assert b"".join(got) == DATA
        reader.close()
    assert connections == [3]


def test_a_refusal_says_what_the_peer_said() -> None:
    body = orjson.dumps({"errors": [{"message": "this peer is not paired", "path": ""}]})

    def answer(connection: socket.socket, _: int) -> None:
        head = f"HTTP/1.1 401 Unauthorized\r\nContent-Length: {len(body)}\r\n\r\n"
        connection.sendall(head.encode() + body)

    with peer(answer) as (url, _), pytest.raises(PeerError) as refused:
        list(RangeReader(timeout=5).chunks(ranged(url), [len(DATA)]))
    assert refused.value.status == 401
    assert "this peer is not paired" in str(refused.value)


def test_an_answer_of_another_length_is_refused_before_reading_it() -> None:
    def answer(connection: socket.socket, _: int) -> None:
        connection.sendall(_partial(DATA[:100]))

    with peer(answer) as (url, _), pytest.raises(PeerError, match="answered 100 bytes"):
        list(RangeReader(timeout=5).chunks(ranged(url), [len(DATA)]))


def test_an_answer_that_stops_short_fails_the_stream() -> None:
    def answer(connection: socket.socket, _: int) -> None:
        connection.sendall(_partial(DATA[:5000], length=len(DATA), close=True))
        connection.shutdown(socket.SHUT_WR)

    with peer(answer) as (url, _):
        reader = RangeReader(timeout=5)
        pieces = reader.chunks(ranged(url), [4096, 4096, 8192])
        assert len(next(pieces)) == 4096
        with pytest.raises(PeerError, match="less than was asked for"):
            next(pieces)


def test_a_connection_the_peer_closed_while_idle_is_opened_again() -> None:
    def answer(connection: socket.socket, number: int) -> None:
        connection.sendall(_partial(DATA))
        connection.shutdown(socket.SHUT_RDWR)  # each connection answers once, then closes

    with peer(answer) as (url, connections):
        reader = RangeReader(timeout=5)
        for _ in range(2):
            assert b"".join(reader.chunks(ranged(url), [len(DATA)])) == DATA
            time.sleep(0.05)
        reader.close()
    assert connections == [1, 1]


def test_close_from_another_thread_wakes_a_read_under_way() -> None:
    release = threading.Event()

    def answer(connection: socket.socket, _: int) -> None:
        connection.sendall(_partial(DATA)[:1000])  # the head and a little; then nothing
        release.wait(10)

    with peer(answer) as (url, _):
        reader = RangeReader(timeout=30)
        failed: list[BaseException] = []

        def read() -> None:
            try:
                list(reader.chunks(ranged(url), [len(DATA)]))
            except PeerError as exc:
                failed.append(exc)

        thread = threading.Thread(target=read)
        thread.start()
        time.sleep(0.3)
        assert thread.is_alive()  # waiting for bytes that do not come
        reader.close()
        thread.join(5)
        release.set()
    assert not thread.is_alive()
    assert failed
    assert "less than was asked for" in str(failed[0])


def test_https_is_verified_against_the_peers_name_at_the_checked_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert("peer.example")
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(server_side)

    def answer(connection: socket.socket, _: int) -> None:
        connection.sendall(_partial(DATA))

    with peer(answer, server_side) as (url, connections):
        https = url.replace("http://", "https://")
        good = Ranged(https, f"{https}/blob", {"Host": "peer.example"}, "peer.example", len(DATA))
        reader = RangeReader(timeout=5)
        assert b"".join(reader.chunks(good, [len(DATA)])) == DATA
        reader.close()
        wrong = Ranged(https, f"{https}/blob", {}, "other.example", len(DATA))
        with pytest.raises(PeerError, match="did not answer"):
            list(RangeReader(timeout=5).chunks(wrong, [len(DATA)]))
    assert connections[0] == 1
