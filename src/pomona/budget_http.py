"""The request budget: nothing is read from a body before the caller is known, no more of it than
its route accepts, and no slower than the server waits.

Every API route is a :class:`BudgetedRoute`. Before FastAPI reads a body (it parses declared body
parameters before it resolves a single dependency), the route runs its authentication gates,
refuses a declared ``Content-Length`` over the route's limit, and hands FastAPI a body that
stops with 413 the moment it passes the limit and with 408 when the client goes quiet. So an
unauthenticated 200 MB body is answered 401 before its first byte is read, and an oversized
body costs the server the bytes of its limit at most.

Routes say which kind of body they accept with :func:`accepts`; a route that says nothing
accepts a small JSON request (``max_request_bytes``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar, get_args, get_origin

import anyio
from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIRouter
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive

from pomona.auth.deps import is_gate
from pomona.deps import settings as settings_of
from pomona.errors import BadRequest, DomainError, Invalid, Problem, TooLarge, TooSlow
from pomona.errors_http import WithHeaders
from pomona.http import byte_count
from pomona.settings import Settings

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class BodyKind:
    """A kind of request body, and the setting that bounds it."""

    name: str
    setting: str
    what: str  # for messages: "the definition"

    def limit(self, settings: Settings) -> int:
        value = getattr(settings, self.setting)
        assert isinstance(value, int)
        return value


SMALL = BodyKind("small", "max_request_bytes", "the request")
DOCUMENT = BodyKind("document", "max_document_bytes", "the definition")
ARCHIVE = BodyKind("archive", "archive_max_bytes", "the upload")
PACKAGE = BodyKind("package", "package_max_bytes", "the package")
KINDS = (SMALL, DOCUMENT, ARCHIVE, PACKAGE)

_DECLARED: dict[Callable[..., Any], BodyKind] = {}


def accepts(kind: BodyKind) -> Callable[[Endpoint], Endpoint]:
    """Declares the kind of body a route's endpoint accepts (put it under the route decorator)."""

    def declare(endpoint: Endpoint) -> Endpoint:
        _DECLARED[endpoint] = kind
        return endpoint

    return declare


_OPEN_QUERY: set[Callable[..., Any]] = set()


def open_query(endpoint: Endpoint) -> Endpoint:
    """Declares that a route's query may carry parameters it does not read: a redirect back
    from another system (an identity provider adds what it likes: Google ``scope``,
    ``authuser``, ``hd``). Repeated parameters are still refused."""
    _OPEN_QUERY.add(endpoint)
    return endpoint


def body_kind(endpoint: Callable[..., Any]) -> BodyKind:
    return _DECLARED.get(endpoint, SMALL)


class BodyTooLarge(WithHeaders, TooLarge):
    """The rest of the body is never read, so the connection cannot carry another request."""

    headers: ClassVar[dict[str, str]] = {"Connection": "close"}


class BodyTooSlow(WithHeaders, TooSlow):
    headers: ClassVar[dict[str, str]] = {"Connection": "close"}


def _too_large(kind: BodyKind, limit: int, declared: int | None = None) -> DomainError:
    size = f"is {declared} bytes" if declared is not None else "is longer"
    return BodyTooLarge(
        f"{kind.what} {size}; the limit is {limit} bytes (the {kind.setting} setting)",
        code="body_too_large",
    )


def declared_length(request: Request) -> int | None:
    """``Content-Length`` as a number of bytes, refused (``content_length_invalid``) when it is
    not plain digits; servers refuse most malformed ones before Pomona sees them."""
    value = request.headers.get("content-length")
    return None if value is None else byte_count(value, "Content-Length")


class BoundedBody:
    """A ``receive`` that counts the body while it streams and times out a silent client."""

    def __init__(self, receive: Receive, kind: BodyKind, limit: int, timeout: float) -> None:
        self._receive = receive
        self._kind = kind
        self._limit = limit
        self._timeout = timeout
        self._seen = 0
        self._complete = False

    async def __call__(self) -> Message:
        if self._complete:
            # After the body, receive() waits for the client to leave: never a timeout.
            return await self._receive()
        try:
            with anyio.fail_after(self._timeout):
                message = await self._receive()
        except TimeoutError:
            raise BodyTooSlow(
                f"no part of the body arrived for {self._timeout:g} seconds "
                "(the request_body_timeout_seconds setting); send it again",
                code="body_timeout",
            ) from None
        if message["type"] == "http.request":
            self._seen += len(message.get("body", b""))
            if self._seen > self._limit:
                raise _too_large(self._kind, self._limit)
            self._complete = not message.get("more_body", False)
        return message


def _gates(dependant: Dependant) -> Iterator[Callable[[Request], Awaitable[Any]]]:
    """The authentication dependencies of a route, in the order FastAPI would run them."""
    for sub in dependant.dependencies:
        yield from _gates(sub)
        if sub.call is not None and is_gate(sub.call):
            yield sub.call


@dataclass(frozen=True, slots=True)
class QueryShape:
    """The query parameters a route reads, and those of them that take one value. FastAPI
    ignores a parameter it does not know (a misspelt ``?namepsace=`` filters nothing) and keeps
    the last of several (``?page=1&page=2``); the document says neither, so both are refused."""

    known: frozenset[str] | None  # None: any parameter may come (``open_query``)
    single: frozenset[str]

    @classmethod
    def of(cls, dependant: Dependant, *, open_: bool = False) -> QueryShape:
        fields = list(_query_fields(dependant))
        return cls(
            None if open_ else frozenset(f.alias for f in fields),
            frozenset(f.alias for f in fields if not _many(f.field_info.annotation)),
        )

    def check(self, request: Request) -> None:
        if not request.url.query:
            return
        problems: list[Problem] = []
        for name in dict.fromkeys(request.query_params.keys()):
            if self.known is not None and name not in self.known:
                expected = ", ".join(sorted(self.known)) or "none"
                problems.append(
                    Problem(
                        f"/{name}",
                        f"'{name}' is not a parameter of this operation (it takes: {expected})",
                        "query",
                        "query_unknown",
                    )
                )
            elif name in self.single and (count := len(request.query_params.getlist(name))) > 1:
                problems.append(
                    Problem(
                        f"/{name}",
                        f"give '{name}' once, not {count} times",
                        "query",
                        "query_repeated",
                    )
                )
        if problems:
            raise Invalid(problems)


def _query_fields(dependant: Dependant) -> Iterator[Any]:
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from _query_fields(sub)


def _many(annotation: Any) -> bool:
    """Whether a parameter's type takes several values (``list[str]``, ``list[str] | None``)."""
    origin = get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    return any(_many(arg) for arg in get_args(annotation)) if origin is not None else False


class BudgetedRoute(APIRoute):
    """An API route that authenticates, and bounds its body, before FastAPI reads it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        gates = tuple(dict.fromkeys(_gates(self.dependant)))
        kind = body_kind(self.endpoint)
        query = QueryShape.of(self.dependant, open_=self.endpoint in _OPEN_QUERY)

        async def budgeted(request: Request) -> Response:
            for gate in gates:
                await gate(request)
            settings = settings_of(request)
            limit = kind.limit(settings)
            declared = declared_length(request)
            if declared is not None and declared > limit:
                raise _too_large(kind, limit, declared)
            timeout = settings.request_body_timeout_seconds
            body = BoundedBody(request.receive, kind, limit, timeout)
            query.check(request)
            try:
                return await handle(Request(request.scope, body))
            except HTTPException as exc:
                # FastAPI turns any error raised while it reads a declared body into a bare
                # 400 "error parsing the body": the budget's own refusals are answered as such,
                # and anything else is said in words.
                if isinstance(exc.__cause__, DomainError):
                    raise exc.__cause__ from None
                if exc.status_code == 400 and exc.__cause__ is not None:
                    raise BadRequest(
                        f"the body could not be read ({exc.__cause__}); send UTF-8 JSON",
                        code="body_unreadable",
                    ) from None
                raise

        return budgeted


def api_router(**options: Any) -> APIRouter:
    """An ``APIRouter`` whose routes keep the request budget; every router of the app is one."""
    return APIRouter(route_class=BudgetedRoute, **options)
