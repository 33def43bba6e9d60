"""Talking to one Jamf Pro server: tokens (API client or user), cached per process and renewed
before they expire, and requests that answer Jamf's errors as domain errors.

Each connection's URL is checked against the outbound policy (``fetch_allowed_networks``) when
a client opens, as every outbound fetch of Pomona's is.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import httpx

from pomona.errors import DomainError, Invalid, NotFound, Problem, Unavailable
from pomona.net import FetchPolicy, check_url

Auth = Literal["client", "user"]


@dataclass(frozen=True, slots=True)
class Login:
    url: str
    auth: Auth
    principal: str  # the API client's id, or the user name
    secret: str

    @property
    def cache_key(self) -> str:
        digest = hashlib.sha256(self.secret.encode()).hexdigest()[:16]
        return f"{self.url}\0{self.auth}\0{self.principal}\0{digest}"


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    issued: float
    expires: float  # time.time()

    def fresh(self, now: float) -> bool:
        """Renewed before it runs out: with 5 minutes left, or half its life for short ones
        (API clients' tokens may live 60 s)."""
        margin = min(300.0, (self.expires - self.issued) / 2)
        return now < self.expires - margin


class TokenCache:
    """The tokens of one process, by login."""

    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    def get(self, key: str) -> Token | None:
        return self._tokens.get(key)

    def put(self, key: str, token: Token) -> None:
        self._tokens[key] = token

    def drop(self, key: str, token: Token | None) -> None:
        if token is not None and self._tokens.get(key) == token:
            del self._tokens[key]


def _expiry(value: Any) -> float:
    """``expires`` of a user token: an ISO time (``2022-01-24T21:35:20.373Z``) or, in an old
    spec, epoch milliseconds."""
    if isinstance(value, int | float):
        return float(value) / (1000 if value > 1e11 else 1)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def jamf_problem(answer: httpx.Response) -> str:
    """The description in Jamf's error body, or the status."""
    try:
        body = answer.json()
        described = "; ".join(str(e.get("description") or e.get("code")) for e in body["errors"])
    except (ValueError, KeyError, TypeError, AttributeError):
        described = answer.text[:200].strip()
    return f"{answer.status_code} {described}".strip()


def refused(answer: httpx.Response, what: str) -> DomainError:
    """The domain error a Jamf Pro answer stands for."""
    said = jamf_problem(answer)
    if answer.status_code == 401:
        return Invalid(
            f"Jamf Pro refused the connection's credentials ({said}) while {what}; check the "
            "client id and secret (or user and password)",
            "/connection",
            code="jamf_auth_failed",
        )
    if answer.status_code == 403:
        return Invalid(
            f"the Jamf Pro account lacks a privilege for {what} ({said}); "
            "`pomona jamf check` lists what to grant",
            "/connection",
            code="jamf_privilege_missing",
        )
    if answer.status_code == 404:
        return NotFound(f"Jamf Pro has no such thing: {what} ({said})", code="jamf_not_found")
    return Unavailable(f"Jamf Pro answered {said} while {what}", code="jamf_error")


class JamfClient:
    """Requests to one Jamf Pro server with a valid bearer token. Use as ``async with``."""

    def __init__(
        self, login: Login, tokens: TokenCache, policy: FetchPolicy, timeout: float
    ) -> None:
        self.login = login
        self._tokens = tokens
        self._policy = policy
        self._timeout = timeout
        self._http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> JamfClient:
        await check_url(self.login.url, self._policy)
        self._http = httpx.AsyncClient(
            base_url=self.login.url.rstrip("/"), timeout=self._timeout, follow_redirects=False
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.aclose()

    @property
    def http(self) -> httpx.AsyncClient:
        assert self._http is not None, "use the client as `async with`"
        return self._http

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise Unavailable(
                f"cannot reach Jamf Pro at {self.login.url}: {exc or type(exc).__name__}; "
                "check the connection's URL and that the server is up",
                "/url",
                code="jamf_unreachable",
            ) from None

    async def _new_token(self) -> Token:
        now = time.time()
        if self.login.auth == "client":
            form = {
                "client_id": self.login.principal,
                "client_secret": self.login.secret,
                "grant_type": "client_credentials",
            }
            # Jamf Pro 10.49+ documents /api/v1/oauth/token; older servers (and tools) use
            # /api/oauth/token.
            answer = await self._send("POST", "/api/v1/oauth/token", data=form)
            if answer.status_code == 404:
                answer = await self._send("POST", "/api/oauth/token", data=form)
            self._token_refused(answer)
            body = answer.json()
            return Token(body["access_token"], now, now + float(body["expires_in"]))
        answer = await self._send(
            "POST", "/api/v1/auth/token", auth=(self.login.principal, self.login.secret)
        )
        self._token_refused(answer)
        body = answer.json()
        return Token(body["token"], now, _expiry(body["expires"]))

    @staticmethod
    def _token_refused(answer: httpx.Response) -> None:
        if answer.status_code in (400, 401, 403):
            # OAuth answers 400/401 for a wrong client; either way the credentials are wrong.
            raise refused(httpx.Response(401, text=answer.text), "getting a token")
        if answer.status_code != 200:
            raise refused(answer, "getting a token")

    async def token(self, *, stale: Token | None = None) -> Token:
        """A fresh token: the cached one, or a new one (one request at a time per login)."""
        key = self.login.cache_key
        async with self._tokens.lock(key):
            self._tokens.drop(key, stale)
            found = self._tokens.get(key)
            if found is None or not found.fresh(time.time()):
                found = await self._new_token()
                self._tokens.put(key, found)
            return found

    async def request(
        self, method: str, path: str, *, what: str, ok: tuple[int, ...] = (200, 201, 204), **kw: Any
    ) -> httpx.Response:
        """Send with a token; a 401 gets one new token and one more try (the token may have been
        revoked or its lifetime shortened). Any answer not in ``ok`` is a domain error."""
        token = await self.token()
        headers = {"Accept": "application/json", **kw.pop("headers", {})}
        for attempt in (1, 2):
            answer = await self._send(
                method, path, headers={**headers, "Authorization": f"Bearer {token.value}"}, **kw
            )
            if answer.status_code == 401 and attempt == 1:
                token = await self.token(stale=token)
                continue
            break
        if answer.status_code not in ok:
            raise refused(answer, what)
        return answer

    async def json(self, method: str, path: str, *, what: str, **kw: Any) -> Any:
        answer = await self.request(method, path, what=what, **kw)
        try:
            return answer.json() if answer.content else None
        except ValueError:
            raise Unavailable(
                [Problem("", f"Jamf Pro answered something other than JSON while {what}")],
                code="jamf_error",
            ) from None
