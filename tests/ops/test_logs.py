"""Log lines carry the request id, as text or as JSON lines."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from pomona.ops.logs import (
    REQUEST_ID,
    TEXT_FORMAT,
    JsonFormatter,
    RequestIdFilter,
    new_request_id,
)
from tests.conftest import serving


def _record(message: str) -> logging.LogRecord:
    record = logging.LogRecord("pomona.test", logging.WARNING, __file__, 1, message, (), None)
    RequestIdFilter().filter(record)
    return record


def test_a_record_carries_the_request_id_of_its_request() -> None:
    token = REQUEST_ID.set("req-7")
    try:
        inside = _record("inside")
    finally:
        REQUEST_ID.reset(token)
    outside = _record("outside")
    assert (
        logging.Formatter(TEXT_FORMAT).format(inside).endswith("WARNING pomona.test [req-7] inside")
    )
    assert "[-] outside" in logging.Formatter(TEXT_FORMAT).format(outside)
    line = json.loads(JsonFormatter().format(inside))
    assert line["request_id"] == "req-7"
    assert line["message"] == "inside"
    assert line["level"] == "warning"
    assert line["time"].endswith("+00:00")


def test_new_ids_are_unique_and_insane_ones_are_replaced() -> None:
    made = {new_request_id(None) for _ in range(1000)}
    assert len(made) == 1000
    assert new_request_id(b"abc-123") == "abc-123"
    assert new_request_id(b"a b") != "a b"
    assert new_request_id(b"\xff") != "\xff"


@pytest.mark.slow
def test_json_logs_from_a_server_carry_the_request_id(tmp_path: Path) -> None:
    with serving(
        tmp_path, "--server", "uvicorn", POMONA_LOG_FORMAT="json", POMONA_LOG_LEVEL="info"
    ) as server:
        answer = httpx.get(f"{server.url}/healthz", headers={"X-Request-ID": "trace-me-1"})
        assert answer.headers["x-request-id"] == "trace-me-1"
    lines = (tmp_path / "server.log").read_text().splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    assert entries, lines
    mine = [e for e in entries if e["request_id"] == "trace-me-1"]
    assert mine, entries
    assert "/healthz" in mine[0]["message"]
    assert {e["logger"] for e in mine} == {"uvicorn.access"}
