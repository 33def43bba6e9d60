"""What every route shares: JSON bodies, tokens, conditional answers and the error format."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pomona.auth.scopes import Principal
from pomona.errors import ApiError, Problem, pointer

log = logging.getLogger("pomona")


class ORJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def errors_body(problems: list[Problem]) -> bytes:
    """The house error format: ``{"errors": [...]}``, every problem listed."""
    return orjson.dumps({"errors": [p.as_dict() for p in problems]})


def errors_response(
    status: int, problems: list[Problem], headers: dict[str, str] | None = None
) -> Response:
    return Response(errors_body(problems), status, headers, media_type="application/json")


def not_allowed(method: str, allow: str) -> str:
    """The message of a 405 answer."""
    return f"{method} is not allowed here; use {allow}"


async def read_json(request: Request) -> Any:
    """The request body parsed as JSON, within the configured size limit."""
    limit: int = request.app.state.settings.max_document_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the body is {declared} bytes; the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, f"the body is over the limit of {limit} bytes")
    if not body.strip():
        raise ApiError(400, "the body is empty; send a JSON document")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}") from None


# -- authentication ----------------------------------------------------------------------------


async def principal(request: Request) -> Principal:
    """The caller, from ``Authorization: Bearer <token>``; 401 without a valid token."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(
            401,
            "send a token: Authorization: Bearer <token> (create one with `pomona token create`)",
            "/authorization",
            "header",
        )
    found = await request.app.state.tokens.authenticate(secret.strip())
    if found is None:
        raise ApiError(
            401,
            "the token is unknown, revoked or expired; create a new one on the server with "
            "`pomona token create`",
            "/authorization",
            "header",
        )
    return found  # type: ignore[no-any-return]


def require(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that admits tokens carrying ``scope`` (or ``admin``)."""

    async def dependency(request: Request) -> Principal:
        caller = await principal(request)
        if not caller.allows(scope):
            raise ApiError(
                403,
                f"this needs a token with the '{scope}' scope; create one on the server with "
                f"`pomona token create --name NAME --scope {scope}`",
                "/authorization",
                "header",
            )
        return caller

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    return dependency


# -- conditional answers -------------------------------------------------------------------------


def http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def not_modified(
    if_none_match: str | None,
    if_modified_since: str | None,
    etag: str,
    last_modified: datetime | None,
) -> bool:
    """RFC 9110 section 13: If-None-Match wins; If-Modified-Since only when it is absent. Takes
    the raw header values, so that plain ASGI code and routes share it."""
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return etag in tags or gzip_etag(etag) in tags
    if if_modified_since and last_modified is not None:
        try:
            return last_modified.replace(microsecond=0) <= parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
    return False


def gzip_etag(etag: str) -> str:
    """The ETag of a resource's gzip encoding: two encodings must not share one (RFC 9110 8.8.3)."""
    return etag.removesuffix('"') + '-gzip"'


@functools.lru_cache(maxsize=256)
def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an ``Accept-Encoding`` value admits gzip. Clients send one of a few values, so
    the answers are kept."""
    for part in (accept_encoding or "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "x-gzip"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


# -- errors ------------------------------------------------------------------------------------

_LOCATIONS = {"body": "body", "query": "query", "path": "path", "header": "header"}


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return errors_response(exc.status, exc.problems, headers)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for item in exc.errors():
        where, *rest = item["loc"] or ("body",)
        location = _LOCATIONS.get(str(where), "body")
        problems.append(Problem(pointer(rest), item["msg"], location))  # type: ignore[arg-type]
    return errors_response(422, problems)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = str(exc.detail)
    if exc.status_code == 404 and message == "Not Found":
        message = (
            f"nothing at {request.url.path}; the Jamf feed is under /jamf/v1/ and the API is "
            "described at /docs"
        )
    elif exc.status_code == 405 and exc.headers and "Allow" in exc.headers:
        message = not_allowed(request.method, exc.headers["Allow"])
    return errors_response(exc.status_code, [Problem("", message)], dict(exc.headers or {}))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return errors_response(500, [Problem("", "internal error; the server log has the details")])


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
