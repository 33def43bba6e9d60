"""How domain errors become HTTP answers: one table of statuses, one error format.

Every error answer is ``{"errors": [{"path", "message", "location", "code"}]}``, every problem
listed. Services raise :class:`pomona.errors.DomainError`; the status is chosen here, by kind,
and nowhere else.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import ClassVar

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from pomona.errors import (
    KINDS,
    DomainError,
    Internal,
    Invalid,
    Location,
    Problem,
    TooMany,
    pointer,
)

log = logging.getLogger("pomona")

STATUS: dict[str, int] = {
    "bad_request": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "not_allowed": 405,
    "conflict": 409,
    "gone": 410,
    "too_slow": 408,
    "precondition_failed": 412,
    "too_large": 413,
    "unsupported_media": 415,
    "invalid": 422,
    # tus 1.0's checksum extension: "Checksum Mismatch".
    "checksum_mismatch": 460,
    "too_many": 429,
    "internal": 500,
    "unavailable": 503,
}
KIND_OF: dict[int, str] = {status: kind for kind, status in STATUS.items()}
assert set(STATUS) == set(KINDS), "every kind of domain error has a status"


def status_of(error: DomainError) -> int:
    return STATUS[error.kind]


def error_of(status: int, problems: list[Problem] | str) -> DomainError:
    """The domain error an HTTP status stands for, for answers the framework makes (an unknown
    route, a wrong method)."""
    return KINDS[KIND_OF.get(status, "bad_request" if status < 500 else "internal")](problems)


def errors_body(error: DomainError) -> bytes:
    """The house error format: ``{"errors": [...]}``, every problem listed with its code."""
    return orjson.dumps({"errors": [p.as_dict() for p in error.problems]})


def error_response(error: DomainError, headers: dict[str, str] | None = None) -> Response:
    status = status_of(error)
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer", **(headers or {})}
    return Response(errors_body(error), status, headers, media_type="application/json")


def not_allowed(method: str, allow: str) -> str:
    """The message of a 405 answer."""
    return f"{method} is not allowed here; use {allow}"


# -- handlers ----------------------------------------------------------------------------------

_LOCATIONS: dict[str, Location] = {
    "body": "body",
    "query": "query",
    "path": "path",
    "header": "header",
}


class WithHeaders:
    """Mixed into an error a route module raises whose answer must carry headers of its own
    (a challenge for basic auth, the tus version spoken): HTTP, so never a service's error."""

    headers: ClassVar[Mapping[str, str]] = {}


async def _domain_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    headers = dict(exc.headers) if isinstance(exc, WithHeaders) else {}
    if isinstance(exc, TooMany):
        headers["Retry-After"] = str(exc.retry_after)
    return error_response(exc, headers or None)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for item in exc.errors():
        where, *rest = item["loc"] or ("body",)
        problems.append(Problem(pointer(rest), item["msg"], _LOCATIONS.get(str(where), "body")))
    return error_response(Invalid(problems))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = str(exc.detail)
    if exc.status_code == 404 and message == "Not Found":
        message = (
            f"nothing at {request.url.path}; the Jamf feed is under /jamf/v1/ and the API is "
            "described at /docs"
        )
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # The router names the methods of the first route it matched; a path served by several
        # routes (GET and POST on /api/v1/titles) takes them all, as its document lists them.
        headers["Allow"] = allowed_methods(request.app, request.url.path) or headers.get(
            "Allow", ""
        )
        message = not_allowed(request.method, headers["Allow"])
    error = error_of(exc.status_code, message)
    body = errors_body(error)
    return Response(body, exc.status_code, headers, media_type="application/json")


def allowed_methods(app: FastAPI, path: str) -> str:
    """The methods the OpenAPI document lists for the path template ``path`` matches."""
    table = getattr(app.state, "allowed_methods", None)
    if table is None:
        table = []
        for template, item in app.openapi().get("paths", {}).items():
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            methods = [m.upper() for m in item if m in _METHODS]
            table.append((re.compile(pattern), ", ".join(methods)))
        app.state.allowed_methods = table
    return next((methods for pattern, methods in table if pattern.fullmatch(path)), "")


_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(Internal("internal error; the server log has the details"))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


# -- the OpenAPI description of error answers ----------------------------------------------------


class ProblemOut(BaseModel):
    path: str = Field(description="JSON pointer to the offending value; empty for the whole body")
    message: str = Field(description="What is wrong, for a person to read")
    location: Location = Field("body", description="The part of the request the path points into")
    code: str = Field(
        description="What is wrong, for a program: stable, e.g. `title_not_found`, `invalid`, "
        "`revision_mismatch`. Decide what to do next from it, never from the message",
    )


class ErrorsOut(BaseModel):
    errors: list[ProblemOut]


ERROR_DESCRIPTIONS = {
    400: "The request could not be read",
    401: "No valid token was given",
    403: "The token does not allow this",
    404: "Not found",
    405: "The resource does not take this method",
    408: "The body arrived too slowly; send it again",
    409: "Conflicts with the current state",
    410: "It existed and is gone",
    412: "A precondition (If-Match or a protocol header) did not hold",
    413: "The body is larger than the server accepts",
    415: "Unsupported content type",
    422: "The input is invalid; every problem is listed",
    460: "The data does not match the checksum sent with it",
    429: "Asked too often; `Retry-After` says in how many seconds to ask again",
    503: "Something the server needs (the database, the job queue) is unavailable; try again",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` entries for the given error statuses."""
    return {s: {"model": ErrorsOut, "description": ERROR_DESCRIPTIONS[s]} for s in statuses}
