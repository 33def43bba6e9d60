"""Ranged GETs read on a worker thread, straight from a blocking socket.

A transfer's bytes are most of what replication costs the receiving site. Read through the
event loop, each 1 MiB chunk came as a dozen socket reads, each parsed as HTTP in Python and
copied on its way to a chunk; read here, a chunk is one ``read`` of its size, which the standard
library fills from the socket in C with the GIL released, and the thread that read it hashes
and writes it too. The event loop sees a chunk once, to record it.

Each stream of a transfer has a :class:`RangeReader`: one kept-alive connection to its peer,
used by one thread at a time. The request itself (address checked against the fetch policy,
signature) is made by :meth:`PeerClient.ranged <pomona.replication.client.PeerClient.ranged>`
on the event loop, so every request a site sends to a peer passes the same guard.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx

from pomona.replication.client import PeerError, Ranged, refusal

REFUSAL_BYTES = 64 * 1024  # of a refusal's body, for its message


class _Pinned(http.client.HTTPSConnection):
    """HTTPS to the checked address, verifying the certificate against the peer's name."""

    def __init__(
        self, address: str, port: int | None, name: str, context: ssl.SSLContext, timeout: float
    ) -> None:
        super().__init__(address, port, timeout=timeout, context=context)
        self.name = name

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.name)  # type: ignore[attr-defined]


class RangeReader:
    """One stream's connection to a peer (blocking; one thread at a time)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._connection: http.client.HTTPConnection | None = None
        self._to: tuple[str, str, int | None, str | None] | None = None

    def chunks(self, request: Ranged, sizes: list[int]) -> Iterator[bytes]:
        """The answer to ``request``, in pieces of ``sizes`` (which add up to its range)."""
        answer = self._send(request)
        for size in sizes:
            try:
                data = answer.read(size)
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise PeerError(
                    f"{request.peer_url} broke off: {exc or type(exc).__name__}"
                ) from None
            if len(data) != size:
                self.close()
                raise PeerError(f"{request.peer_url} sent less than was asked for")
            yield data
        if not answer.isclosed():  # more than asked for: this connection cannot be reused
            self.close()

    def _send(self, request: Ranged) -> http.client.HTTPResponse:
        parts = urlsplit(request.url)
        to = (parts.scheme, parts.hostname or "", parts.port, request.sni)
        if self._connection is None or self._to != to:
            self.close()
            self._connection, self._to = self._connect(*to), to
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        for attempt in (1, 2):  # a kept-alive connection the peer has closed meanwhile
            try:
                self._connection.request("GET", target, headers=request.headers)
                answer = self._connection.getresponse()
                break
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if attempt == 2 or isinstance(exc, TimeoutError):
                    raise PeerError(
                        f"{request.peer_url} did not answer: {exc or type(exc).__name__}"
                    ) from None
                self._connection = self._connect(*to)
        if answer.status != 206:
            body = answer.read(REFUSAL_BYTES)
            self.close()
            raise PeerError(refusal(request.peer_url, answer.status, body), answer.status)
        if answer.length != request.size:
            self.close()
            raise PeerError(f"{request.peer_url} answered {answer.length} bytes, not the range")
        return answer

    def _connect(
        self, scheme: str, host: str, port: int | None, sni: str | None
    ) -> http.client.HTTPConnection:
        if scheme == "https":
            context = httpx.create_ssl_context()  # the trust of every other outbound request
            return _Pinned(host, port, sni or host, context, self.timeout)
        return http.client.HTTPConnection(host, port, timeout=self.timeout)

    def close(self) -> None:
        """Close the connection; from another thread, this ends a read under way."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if connection.sock is not None:
            # Closing alone leaves a blocked read waiting (the answer holds the socket open);
            # shutting it down wakes that read, which then ends.
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)
        connection.close()
