"""Outbound HTTP fetches that cannot be turned against the server's own network.

A URL given by a user (a remote patch source, later a subscription) must not reach loopback,
link-local (cloud metadata at 169.254.169.254), private, multicast or reserved addresses, unless
an admin lists them in ``fetch_allowed_networks``. The host is resolved once, every address
checked, and the connection made to the checked address (the name still goes in ``Host`` and
TLS SNI, so certificates verify as usual): a DNS answer that changes between the check and the
connection cannot slip through. Redirects are followed by hand and checked the same way. Size
and time are bounded.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit

import httpx

from pomona.errors import Invalid, Problem

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class FetchError(Invalid):
    """The remote could not be fetched; the message says why and what to do."""

    def __init__(self, message: str, path: str = "/url") -> None:
        super().__init__([Problem(path, message)], code="fetch_failed")


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    allowed_networks: tuple[Network, ...] = ()
    allowed_hosts: frozenset[str] = frozenset()
    timeout: float = 30.0
    max_bytes: int = 64 * 1024**2
    max_redirects: int = 5

    @classmethod
    def from_settings(
        cls,
        allowed: Sequence[str],
        *,
        timeout: float,
        max_bytes: int,
        max_redirects: int,
    ) -> FetchPolicy:
        networks: list[Network] = []
        hosts: set[str] = set()
        for entry in allowed:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                hosts.add(entry.strip().lower().rstrip("."))
        return cls(tuple(networks), frozenset(hosts), timeout, max_bytes, max_redirects)


def forbidden(address: IPAddress) -> bool:
    """Loopback, link-local, private, multicast, reserved, unspecified, or not global."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is not None and forbidden(embedded):
            return True
    return (
        address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def _allowed(policy: FetchPolicy, host: str, address: IPAddress) -> bool:
    if host.lower().rstrip(".") in policy.allowed_hosts:
        return True
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        candidates.append(address.ipv4_mapped)
    return any(
        a in n for a in candidates for n in policy.allowed_networks if a.version == n.version
    )


async def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        # ValueError: a host with a NUL character, which the resolver cannot be given.
        raise FetchError(
            f"cannot resolve '{_clip(host)}': {exc}; check the URL's host name"
        ) from None
    seen: dict[str, IPAddress] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        text = str(sockaddr[0]).split("%")[0]
        seen.setdefault(text, ipaddress.ip_address(text))
    return list(seen.values())


def _split(url: str) -> tuple[SplitResult, str, int]:
    """The parts, host and port of an http(s) URL, or ``FetchError``: ``urlsplit`` raises
    ``ValueError`` for an unclosed ``[`` and ``.port`` for a port out of range, and a URL is
    client input, to be refused, not an error of the server."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise FetchError(f"'{_clip(url)}' is not a valid URL (check its host and port)") from None
    if parts.scheme not in ("http", "https") or not host:
        raise FetchError(f"'{_clip(url)}' is not an http or https URL")
    if parts.username or parts.password:
        raise FetchError("give the URL without a user name or password")
    return parts, host, port or (443 if parts.scheme == "https" else 80)


def _clip(url: str) -> str:
    # Messages quote the URL; a 2 KB one would bury what is wrong with it.
    return url if len(url) <= 200 else url[:200] + "..."


async def check_url(url: str, policy: FetchPolicy) -> tuple[str, str, IPAddress]:
    """The host, scheme and checked address ``fetch`` would connect to for ``url``, or
    ``FetchError`` when the policy refuses it: requests check an address before they queue work
    that will fetch from it."""
    parts, host, port = _split(url)
    addresses = await resolve(host, port)
    refused = [a for a in addresses if forbidden(a) and not _allowed(policy, host, a)]
    if refused or not addresses:
        raise FetchError(
            f"'{host}' resolves to {', '.join(str(a) for a in refused) or 'nothing'}: a "
            "loopback, link-local, private or reserved address, which Pomona does not fetch "
            "from unless an admin adds it to the fetch_allowed_networks setting"
        )
    return host, parts.scheme, addresses[0]


@dataclass(frozen=True, slots=True)
class Fetched:
    """One answer of :func:`fetch_answer`: 200 with its body, 304 (not modified since the
    validators sent), or a redirect left unfollowed (``location`` is the absolute target)."""

    url: str
    status: int
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    location: str | None = None


async def _pinned(url: str, policy: FetchPolicy) -> tuple[str, str, dict[str, Any]]:
    """``url`` with its host replaced by the checked address, the ``Host`` header it keeps, and
    the TLS extensions that still verify the certificate against the name."""
    host, scheme, address = await check_url(url, policy)
    parts = urlsplit(url)
    shown = f"[{address}]" if address.version == 6 else str(address)
    port = f":{parts.port}" if parts.port else ""
    pinned = parts._replace(netloc=f"{shown}{port}").geturl()
    extensions: dict[str, Any] = {"sni_hostname": host} if scheme == "https" else {}
    return pinned, parts.netloc.rpartition("@")[2], extensions


@dataclass(frozen=True, slots=True)
class Answer:
    """What a POST got back: the status, headers and the first bytes of the body."""

    status: int
    headers: httpx.Headers
    body: bytes


async def post(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: dict[str, str],
    policy: FetchPolicy,
    *,
    keep: int = 1024,
) -> Answer:
    """POST ``body`` to ``url`` with ``client`` (kept by the caller: making one loads the CA
    certificates, which costs more than a request on a local network) within the policy's time
    limit, never following a redirect (the 3xx is the answer); keeps the first ``keep`` bytes
    of the answer. ``FetchError`` when the URL is refused or no answer came."""
    pinned, host, extensions = await _pinned(url, policy)
    try:
        async with asyncio.timeout(policy.timeout):
            async with client.stream(
                "POST",
                pinned,
                content=body,
                headers={**headers, "Host": host},
                extensions=extensions,
                follow_redirects=False,
                timeout=policy.timeout,
            ) as answer:
                kept = bytearray()
                async for chunk in answer.aiter_bytes():
                    kept += chunk
                    if len(kept) >= keep:
                        break
                return Answer(answer.status_code, answer.headers, bytes(kept[:keep]))
    except (TimeoutError, httpx.TimeoutException):
        raise FetchError(f"{url} did not answer within {policy.timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"cannot reach {url}: {exc}") from None


async def fetch(url: str, policy: FetchPolicy, *, accept: str = "application/json") -> bytes:
    """GET ``url`` within the policy's limits; the body, or ``FetchError``."""
    return (await fetch_answer(url, policy, accept=accept)).body


async def fetch_answer(
    url: str,
    policy: FetchPolicy,
    *,
    accept: str = "application/json",
    etag: str | None = None,
    last_modified: str | None = None,
    follow: bool = True,
) -> Fetched:
    """GET ``url`` within the policy's limits, conditionally when given the validators of an
    earlier answer (``If-None-Match``, ``If-Modified-Since``: a 304 comes back as such).

    Redirects are followed by hand, each target checked like the first, at most
    ``max_redirects`` and never to a URL already visited (a loop is refused at once); with
    ``follow=False`` the first redirect is answered with its target and not followed.
    """
    deadline = time.monotonic() + policy.timeout
    visited: set[str] = set()
    for _hop in range(policy.max_redirects + 1):
        if url in visited:
            raise FetchError(f"{_clip(url)} redirects in a loop")
        visited.add(url)
        pinned, host, extensions = await _pinned(url, policy)
        headers = {"Host": host, "Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(f"{url} did not answer within {policy.timeout:g} s")
        try:
            async with (
                httpx.AsyncClient(timeout=remaining, follow_redirects=False) as client,
                client.stream("GET", pinned, headers=headers, extensions=extensions) as answer,
            ):
                if answer.is_redirect and "location" in answer.headers:
                    target = urljoin(url, answer.headers["location"])
                    if not follow:
                        return Fetched(url, answer.status_code, location=target)
                    url = target
                    continue
                if answer.status_code == 304 and (etag or last_modified):
                    return Fetched(url, 304, etag=etag, last_modified=last_modified)
                if answer.status_code != 200:
                    raise FetchError(f"{url} answered {answer.status_code}, not 200")
                body = bytearray()
                async for chunk in answer.aiter_bytes():
                    body += chunk
                    if len(body) > policy.max_bytes:
                        raise FetchError(
                            f"{url} sent more than {policy.max_bytes} bytes (fetch_max_bytes)"
                        )
                    if time.monotonic() > deadline:
                        raise FetchError(f"{url} did not finish within {policy.timeout:g} s")
                return Fetched(
                    url,
                    200,
                    bytes(body),
                    etag=answer.headers.get("etag"),
                    last_modified=answer.headers.get("last-modified"),
                )
        except httpx.TimeoutException:
            raise FetchError(f"{url} did not answer within {policy.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot fetch {url}: {exc}") from None
    raise FetchError(f"{url} redirected more than {policy.max_redirects} times")
