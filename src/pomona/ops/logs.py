"""Logs: human-readable lines by default, JSON lines by a setting, each with its request id.

The request id is a context variable that ``requests_http.Observe`` sets for the length of a
request; every log record made meanwhile carries it (``request_id``), and so does every audit row
(:func:`pomona.audit.service.record` reads :func:`request_id`). Threads started with
``anyio.to_thread`` copy the context, so work done there carries it too.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from itertools import count
from typing import Any, Literal

import orjson

REQUEST_ID: ContextVar[str | None] = ContextVar("pomona_request_id", default=None)
# A client's id is kept when it is one token of printable, log-safe characters.
SANE = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
# The loggers of the HTTP servers, which set up handlers of their own: their records are sent on
# to ours so that every line has one format.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "granian", "granian.access")

# Ids this process makes: a random prefix per process and a counter, unique across processes and
# cheaper than a UUID on every feed request. Server workers are forked from a parent that may
# have imported this module: each child draws its own prefix.
_prefix = secrets.token_hex(4)
_sequence = count(1)


def _new_process() -> None:
    global _prefix, _sequence
    _prefix, _sequence = secrets.token_hex(4), count(1)


os.register_at_fork(after_in_child=_new_process)


def request_id() -> str | None:
    """The id of the request being answered, if any."""
    return REQUEST_ID.get()


def new_request_id(given: bytes | None) -> str:
    """The client's ``X-Request-ID`` when it is sane, else a new one."""
    if given:
        text = given.decode("latin-1")
        if SANE.fullmatch(text):
            return text
    return f"{_prefix}-{next(_sequence):x}"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO-8601), level, logger, message, request_id, and
    the exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def configure(level: str, form: Literal["text", "json"]) -> None:
    """Send every record (the servers' included) to one stderr handler in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if form == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "pomona", False):
            root.removeHandler(old)
    handler.pomona = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel("DEBUG" if level == "trace" else level.upper())
    for name in SERVER_LOGGERS:
        server = logging.getLogger(name)
        server.handlers.clear()
        server.propagate = True
