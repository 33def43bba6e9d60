"""Signed requests to a peer, through the outbound guard of :mod:`pomona.net`.

Each request's URL is checked against the fetch policy (a peer on a private network is
reached only when an admin allows that network in ``fetch_allowed_networks``), connected to the
address that was checked, and signed with the pair's key (:mod:`.signing`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from pomona.net import FetchError, FetchPolicy, check_url
from pomona.replication.signing import sign
from pomona.settings import Settings

PROTOCOL = "/api/v1/replication/peer"


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy.from_settings(
        settings.fetch_allowed_networks,
        timeout=settings.replication_timeout_seconds,
        max_bytes=settings.fetch_max_bytes,
        max_redirects=0,
    )


@dataclass(frozen=True, slots=True)
class Target:
    """A peer as a caller sees it: where it is, and the keyid and key to sign with."""

    url: str
    key_id: str
    key: str


@dataclass(frozen=True, slots=True)
class Ranged:
    """A signed ranged GET, ready to send: ``url`` names the checked address, ``headers``
    carry the signature and the peer's own host name, ``sni`` is the name TLS verifies."""

    peer_url: str
    url: str
    headers: dict[str, str]
    sni: str | None
    size: int


class PeerError(Exception):
    """A peer could not be reached, or answered something other than what was asked."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class PeerClient:
    """One connection pool for every peer of this process's task loop."""

    def __init__(self, settings: Settings) -> None:
        self.policy = fetch_policy(settings)
        self.timeout = settings.replication_timeout_seconds
        self._http: httpx.AsyncClient | None = None

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
            self._http = httpx.AsyncClient(timeout=self.timeout, limits=limits)
        return self._http

    async def _prepare(
        self, target: Target, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        url = target.url.rstrip("/") + path
        try:
            host, scheme, address = await check_url(url, self.policy)
        except FetchError as exc:
            raise PeerError(exc.problems[0].message) from None
        parts = urlsplit(url)
        shown = f"[{address}]" if address.version == 6 else str(address)
        port = f":{parts.port}" if parts.port else ""
        pinned = parts._replace(netloc=f"{shown}{port}").geturl()
        signed = sign(method, url, body, target.key_id, bytes.fromhex(target.key))
        headers = {**headers, **signed, "Host": parts.netloc}
        extensions = {"sni_hostname": host} if scheme == "https" else {}
        return pinned, headers, extensions

    async def call(self, target: Target, method: str, path: str, payload: Any = None) -> Any:
        """A JSON request to the peer's protocol; its JSON answer."""
        body = b"" if payload is None else orjson.dumps(payload)
        kind = {"Content-Type": "application/json"} if payload is not None else {}
        url, headers, extensions = await self._prepare(target, method, PROTOCOL + path, body, kind)
        try:
            answer = await self.http.request(
                method, url, content=body, headers=headers, extensions=extensions
            )
        except httpx.HTTPError as exc:
            raise PeerError(f"{target.url} did not answer: {exc or type(exc).__name__}") from None
        if not answer.is_success:
            raise PeerError(_refusal(target.url, answer), answer.status_code)
        return orjson.loads(answer.content) if answer.content else None

    async def ranged(self, target: Target, path: str, start: int, end: int) -> Ranged:
        """The signed GET of bytes ``start`` up to ``end`` (exclusive) of ``path``, checked
        against the fetch policy, for :meth:`stream` or a blocking reader
        (:mod:`pomona.replication.ranges`)."""
        url, headers, extensions = await self._prepare(
            target, "GET", PROTOCOL + path, b"", {"Range": f"bytes={start}-{end - 1}"}
        )
        return Ranged(target.url, url, headers, extensions.get("sni_hostname"), end - start)

    @contextlib.asynccontextmanager
    async def stream(
        self, target: Target, path: str, start: int, end: int
    ) -> AsyncIterator[httpx.Response]:
        """A ranged GET of bytes ``start`` up to ``end`` (exclusive), streamed."""
        request = await self.ranged(target, path, start, end)
        url, headers = request.url, request.headers
        extensions = {"sni_hostname": request.sni} if request.sni else {}
        try:
            async with self.http.stream(
                "GET", url, headers=headers, extensions=extensions
            ) as answer:
                if answer.status_code != 206:
                    await answer.aread()
                    raise PeerError(_refusal(target.url, answer), answer.status_code)
                yield answer
        except httpx.HTTPError as exc:
            raise PeerError(f"{target.url} broke off: {exc or type(exc).__name__}") from None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def _refusal(url: str, answer: httpx.Response) -> str:
    return refusal(url, answer.status_code, answer.content)


def refusal(url: str, status: int, body: bytes) -> str:
    """What a peer's refusal says: the first problem of its error body, or its text."""
    try:
        said = orjson.loads(body)["errors"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        said = body[:200].decode("utf-8", "replace")
    return f"{url} answered {status}: {said}"
