"""What every route shares: JSON answers and bodies, and conditional answers."""

from __future__ import annotations

import functools
import re
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse

from pomona.errors import BadRequest


class ORJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


async def read_json(request: Request) -> Any:
    """The request body parsed as JSON; its route's budget (``budget_http``) bounds its size."""
    body = await request.body()
    if not body.strip():
        raise BadRequest("the body is empty; send a JSON document")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None


# -- byte counts in headers ----------------------------------------------------------------------

# A byte count is stored as a signed 64-bit integer: 19 digits at most. Headers are parsed
# here, not by FastAPI, so that "1_000", " 7" or "²" are refused as tus says (ASCII digits only) and
# a 5,000-digit value is refused with its header's own code rather than converted.
MAX_BYTES = 2**63 - 1
BYTES_PATTERN = "^[0-9]{1,19}$"
_BYTES = re.compile("[0-9]{1,19}")


def byte_count(value: str, header: str) -> int:
    """A header holding a number of bytes (``Upload-Length: 1024``)."""
    if _BYTES.fullmatch(value) is None or int(value) > MAX_BYTES:
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise BadRequest(
            f"{header} must be a number of bytes (ASCII digits, at most {MAX_BYTES}), not "
            f"'{shown}'",
            f"/{header}",
            "header",
            code=f"{header.lower().replace('-', '_')}_invalid",
        )
    return int(value)


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
