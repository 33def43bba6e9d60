"""The Jamf feed: what Jamf Pro and the scripts around it read, byte for byte."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import AsyncIterator
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, text

from pomona.app import create_app
from pomona.settings import Settings
from pomona.titles.feed import FeedCache
from tests.conftest import _sync_url, fixture_text

TITLES = "/api/v1/titles"


def definition(title_id: str, **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(fixture_text("example.json"))
    document.update(id=title_id, **changes)
    return document


def pretty(value: Any) -> bytes:
    """The layout Jamf's scripts expect: what PatchServer (Python's json) wrote."""
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()


async def publish(
    client: httpx.AsyncClient, headers: dict[str, str], *ids: str, **changes: Any
) -> None:
    for title_id in ids:
        response = await client.post(TITLES, json=definition(title_id, **changes), headers=headers)
        assert response.status_code == 201, response.text


async def raw_body(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> bytes:
    """The body as sent on the wire, not decoded by httpx."""
    async with client.stream("GET", path, headers=headers) as response:
        return b"".join([chunk async for chunk in response.aiter_raw()])


# -- the base: Jamf Pro's "Test" button -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/jamf/v1", "/jamf/v1/"])
@pytest.mark.parametrize("method", ["HEAD", "GET"])
async def test_the_feed_base_answers_200(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


# -- /software ------------------------------------------------------------------------------------


async def test_software_of_an_empty_feed_is_an_empty_array(client: httpx.AsyncClient) -> None:
    response = await client.get("/jamf/v1/software")

    assert response.status_code == 200
    assert response.content == b"[]\n"
    assert response.headers["content-type"] == "application/json"


async def test_software_is_sorted_and_pretty_printed_like_pythons_json(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await publish(client, admin, "Zoom", "Firefox")
    await publish(client, admin, "Cafe", name="Café ☕ 𝄞", publisher="Ünïcode \u2028 Ltd")

    response = await client.get("/jamf/v1/software")

    summaries = response.json()
    assert [s["id"] for s in summaries] == ["Cafe", "Firefox", "Zoom"]
    assert response.content == pretty(summaries)
    assert response.content.isascii()
    assert summaries[0]["name"] == "Café ☕ 𝄞"
    assert set(summaries[0]) == {"id", "name", "publisher", "lastModified", "currentVersion"}
    api = (await client.get(f"{TITLES}/Firefox", headers=admin)).json()
    assert summaries[1] == {k: api[k] for k in summaries[1]}


async def test_a_shell_pipeline_reads_the_ids_like_the_kinobi_migration_script(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await publish(client, admin, "GoogleChrome", "Firefox", "Zoom.us", "a-b_c")
    body = (await client.get("/jamf/v1/software")).content

    shell = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        "grep '\"id\":' | cut -d'\"' -f4",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    ids, _ = await asyncio.wait_for(shell.communicate(body), timeout=30)

    assert shell.returncode == 0
    assert ids.decode().splitlines() == ["Firefox", "GoogleChrome", "Zoom.us", "a-b_c"]


async def test_software_for_ids_leaves_unknown_ids_out(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await publish(client, admin, "A", "B", "C")

    response = await client.get("/jamf/v1/software/C,Nope,A,C")

    assert response.status_code == 200
    summaries = response.json()
    assert [s["id"] for s in summaries] == ["C", "A"]
    assert response.content == pretty(summaries)
    everything = (await client.get("/jamf/v1/software")).json()
    assert summaries == [everything[2], everything[0]]


@pytest.mark.parametrize("ids", ["Nope", "Nope,Nada", ",", "bad%20id"])
async def test_software_for_only_unknown_ids_is_an_empty_array_not_404(
    client: httpx.AsyncClient, admin: dict[str, str], ids: str
) -> None:
    await publish(client, admin, "A")

    response = await client.get(f"/jamf/v1/software/{ids}")

    assert response.status_code == 200
    assert response.content == b"[]\n"


# -- /patch/{id} ----------------------------------------------------------------------------------


async def test_patch_serves_the_stored_definition_pretty_printed(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await publish(client, admin, "Example")
    stored = (await client.get(f"{TITLES}/Example", headers=admin)).json()

    response = await client.get("/jamf/v1/patch/Example")

    assert response.status_code == 200
    assert response.json() == stored
    assert response.content == pretty(stored)


async def test_patch_of_an_unknown_title_is_404_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/jamf/v1/patch/Nope")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert "Nope" in response.json()["errors"][0]["message"]


async def test_head_on_the_feed_sends_the_headers_without_a_body(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await publish(client, admin, "Example")
    identity = {"Accept-Encoding": "identity"}
    got = await client.get("/jamf/v1/patch/Example", headers=identity)

    head = await client.head("/jamf/v1/patch/Example", headers=identity)

    assert head.status_code == 200
    assert head.headers["etag"] == got.headers["etag"]
    assert head.headers["content-length"] == str(len(got.content))
    assert (await client.head("/jamf/v1/patch/Nope")).status_code == 404


# -- validators and 304 ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/jamf/v1/software", "/jamf/v1/patch/Example"])
async def test_etag_and_last_modified_give_304(
    client: httpx.AsyncClient, admin: dict[str, str], path: str
) -> None:
    await publish(client, admin, "Example")
    first = await client.get(path)
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('"')
    assert first.headers["cache-control"] == "no-cache"
    stored = (await client.get(f"{TITLES}/Example", headers=admin)).json()
    served_date = parsedate_to_datetime(last_modified).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert served_date == stored["lastModified"]

    for headers in (
        {"If-None-Match": etag},
        {"If-None-Match": f"W/{etag}"},
        {"If-None-Match": f'"other", {etag}'},
        {"If-None-Match": "*"},
        {"If-Modified-Since": last_modified},
    ):
        cached = await client.get(path, headers=headers)
        assert cached.status_code == 304, headers
        assert cached.content == b""
        assert cached.headers["etag"] == etag

    older = format_datetime(parsedate_to_datetime(last_modified).replace(year=2000), usegmt=True)
    for headers in (
        {"If-None-Match": '"other"'},
        {"If-Modified-Since": older},
        {"If-Modified-Since": "not a date"},
        # If-None-Match wins over If-Modified-Since (RFC 9110 section 13.2.2).
        {"If-None-Match": '"other"', "If-Modified-Since": last_modified},
    ):
        fresh = await client.get(path, headers=headers)
        assert fresh.status_code == 200, headers
        assert fresh.content == first.content


async def test_a_write_changes_the_validators(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await publish(client, admin, "Example")
    before = await client.get("/jamf/v1/software")

    await client.put(f"{TITLES}/Example", json=definition("Example", name="New"), headers=admin)

    after = await client.get("/jamf/v1/software", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.json()[0]["name"] == "New"
    assert after.headers["etag"] != before.headers["etag"]
    assert parsedate_to_datetime(after.headers["last-modified"]) > parsedate_to_datetime(
        before.headers["last-modified"]
    )


async def test_deleting_a_title_moves_last_modified_of_software_forward(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await publish(client, admin, "Kept", "Gone")
    before = await client.get("/jamf/v1/software")

    await client.delete(f"{TITLES}/Gone", headers=admin)

    after = await client.get(
        "/jamf/v1/software", headers={"If-Modified-Since": before.headers["last-modified"]}
    )
    assert after.status_code == 200
    assert [s["id"] for s in after.json()] == ["Kept"]


# -- gzip -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/jamf/v1/software", "/jamf/v1/patch/Example"])
async def test_gzip_is_sent_when_accepted_and_decompresses_to_the_same_bytes(
    client: httpx.AsyncClient, admin: dict[str, str], path: str
) -> None:
    await publish(client, admin, "Example")
    plain = await client.get(path, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers

    zipped = await client.get(path, headers={"Accept-Encoding": "gzip, deflate"})
    raw = await raw_body(client, path, {"Accept-Encoding": "gzip"})

    assert zipped.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in zipped.headers["vary"].lower()
    assert raw[:2] == b"\x1f\x8b"
    assert len(raw) < len(plain.content)
    assert gzip.decompress(raw) == plain.content
    # Two encodings of one resource must not share an ETag (RFC 9110 section 8.8.3).
    assert zipped.headers["etag"] != plain.headers["etag"]
    again = await client.get(
        path, headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["etag"]}
    )
    assert again.status_code == 304


async def test_gzip_refused_with_q0_is_not_sent(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await publish(client, admin, "Example")

    response = await client.get("/jamf/v1/software", headers={"Accept-Encoding": "gzip;q=0"})

    assert "content-encoding" not in response.headers


# -- rendering once per change --------------------------------------------------------------------


async def test_the_feed_is_rendered_once_per_change_not_per_request(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await publish(client, admin, "Example", "Other")
    cache: FeedCache = app.state.feed
    await client.get("/jamf/v1/software")
    software, example = await cache.software(), await cache.patch("Example")
    assert example is not None

    for _ in range(3):
        await client.get("/jamf/v1/software", headers={"Accept-Encoding": "gzip"})
        await client.get("/jamf/v1/patch/Example", headers={"Accept-Encoding": "gzip"})
    assert await cache.software() is software
    assert await cache.patch("Example") is example
    assert example.gzipped() is example.gzipped()

    await client.put(f"{TITLES}/Other", json=definition("Other", name="New"), headers=admin)

    assert await cache.software() is not software
    # Only the title that changed is rendered again.
    assert await cache.patch("Example") is example
    await client.put(f"{TITLES}/Example", json=definition("Example", name="New"), headers=admin)
    assert await cache.patch("Example") is not example


# -- several processes on one database ------------------------------------------------------------


@pytest.fixture
async def other_process(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second, independent app on the same database, as another server process would be."""
    other = create_app(settings.model_copy(update={"feed_refresh_seconds": 0.3}))
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://other.test") as http:
            yield http


async def test_another_process_sees_a_write_within_the_refresh_interval(
    client: httpx.AsyncClient, admin: dict[str, str], other_process: httpx.AsyncClient
) -> None:
    await publish(client, admin, "Example")
    assert [s["id"] for s in (await other_process.get("/jamf/v1/software")).json()] == ["Example"]

    await publish(client, admin, "Second")
    await client.delete(f"{TITLES}/Example", headers=admin)
    written = time.monotonic()

    while True:
        seen = [s["id"] for s in (await other_process.get("/jamf/v1/software")).json()]
        if seen == ["Second"]:
            break
        assert time.monotonic() - written < 0.3 + 1.0, f"still {seen}"
        await asyncio.sleep(0.05)
    patch = await other_process.get("/jamf/v1/patch/Second")
    assert patch.status_code == 200
    assert (await other_process.get("/jamf/v1/patch/Example")).status_code == 404
    assert patch.content == (await client.get("/jamf/v1/patch/Second")).content


# -- paths as Jamf Pro may build them -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "same_as"),
    [
        ("/jamf/v1/software/", "/jamf/v1/software"),
        ("/jamf/v1/software/Example/", "/jamf/v1/software/Example"),
        ("/jamf/v1/patch/Example/", "/jamf/v1/patch/Example"),
    ],
)
async def test_a_trailing_slash_is_served_not_redirected(
    client: httpx.AsyncClient, admin: dict[str, str], path: str, same_as: str
) -> None:
    """Jamf Pro follows no redirect: a 307 to the path without the slash would break it."""
    await publish(client, admin, "Example")

    response = await client.get(path)

    assert response.status_code == 200
    assert response.content == (await client.get(same_as)).content


async def test_an_unknown_path_is_404_saying_where_things_are(client: httpx.AsyncClient) -> None:
    response = await client.get("/jamf/v2/software")

    assert response.status_code == 404
    message = response.json()["errors"][0]["message"]
    assert "/jamf/v1/" in message
    assert "/docs" in message


async def test_a_wrong_method_is_405_naming_the_allowed_ones(client: httpx.AsyncClient) -> None:
    response = await client.post("/jamf/v1/software")

    assert response.status_code == 405
    message = response.json()["errors"][0]["message"]
    assert "GET" in message
    assert "HEAD" in message


async def test_the_last_good_feed_is_served_while_the_database_cannot_be_read(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], settings: Settings
) -> None:
    await publish(client, admin, "Example")
    before = await client.get("/jamf/v1/patch/Example")
    engine = create_engine(_sync_url(settings.resolved_database_url))
    try:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE feed_state RENAME TO feed_state_away"))
        app.state.feed.invalidate()

        during = await client.get("/jamf/v1/patch/Example")

        assert during.status_code == 200
        assert during.content == before.content
        assert (await client.get("/jamf/v1/software")).status_code == 200
    finally:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE feed_state_away RENAME TO feed_state"))
        engine.dispose()


async def test_readers_are_answered_from_the_feed_as_rendered_while_a_reload_runs(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """A reload (after another process's write) must not queue readers behind it: they get the
    feed as rendered until the new one replaces it. The writer of a change through this
    process is answered only once its change is on the feed."""
    await publish(client, admin, "A")
    before = await client.get("/jamf/v1/software")
    cache: FeedCache = app.state.feed

    async with cache._lock:  # another request's reload, in progress
        cache.invalidate()
        during = await asyncio.wait_for(client.get("/jamf/v1/software"), timeout=30)
    await publish(client, admin, "B")
    after = await client.get("/jamf/v1/software")

    assert during.status_code == 200
    assert during.content == before.content
    assert [t["id"] for t in after.json()] == ["A", "B"]


# -- the plain ASGI path: every answer prepared once ----------------------------------------------


async def test_software_for_answers_are_kept_until_the_feed_changes(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await publish(client, admin, "A", "B")
    cache: FeedCache = app.state.feed
    first = await cache.software_for(["B", "A"])

    assert await cache.software_for(["B", "A", "B"]) is first
    assert await cache.software_for(["A", "B"]) is not first
    assert await cache.software_for(["B", "A"], preview=True) is not first
    identity = {"Accept-Encoding": "identity"}
    served = await client.get("/jamf/v1/software/B,A", headers=identity)
    assert served.headers["etag"] == first.etag
    assert await cache.software_for(["B", "A"]) is first

    await client.put(f"{TITLES}/A", json=definition("A", name="New"), headers=admin)

    changed = await cache.software_for(["B", "A"])
    assert changed is not first
    assert [s["name"] for s in json.loads(changed.body)] == ["Example", "New"]
    answer = await client.get("/jamf/v1/software/B,A", headers=identity)
    assert answer.headers["etag"] == changed.etag != first.etag


async def test_kept_software_for_answers_stay_within_their_byte_limit(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await publish(client, admin, "A", "B", "C")
    one = await app.state.feed.software_for(["A"])  # every one-title answer is this long
    size = len(one.body) + 1  # the body and the id
    # Room for two one-title answers, not three.
    cache = FeedCache(app.state.services.db, refresh_seconds=60, chosen_bytes=2 * size + size // 2)
    a = await cache.software_for(["A"])

    b = await cache.software_for(["B"])
    assert await cache.software_for(["A"]) is a
    c = await cache.software_for(["C"])  # evicts the oldest, A

    assert await cache.software_for(["C"]) is c
    assert await cache.software_for(["B"]) is b
    assert await cache.software_for(["A"]) is not a
    everything = await cache.software_for(["A", "B", "C"])  # too large to keep
    assert await cache.software_for(["A", "B", "C"]) is not everything


@pytest.mark.parametrize(
    "path",
    [
        "/jamf/v1",
        "/jamf/v1/",
        "/jamf/v1/software",
        "/jamf/v1/software/",
        "/jamf/v1/software/Example",
        "/jamf/v1/patch/Example/",
        "/jamf/preview/v1/patch/Example",
    ],
)
@pytest.mark.parametrize("method", ["PUT", "DELETE", "OPTIONS"])
async def test_every_feed_path_answers_other_methods_405_with_allow(
    client: httpx.AsyncClient, admin: dict[str, str], method: str, path: str
) -> None:
    await publish(client, admin, "Example")

    response = await client.request(method, path)

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "errors": [
            {
                "path": "",
                "message": f"{method} is not allowed here; use GET, HEAD",
                "location": "body",
                "code": "not_allowed",
            }
        ]
    }


async def test_feed_answers_carry_exactly_the_feed_headers(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await publish(client, admin, "Example")

    for encoding in ("identity", "gzip"):
        headers = {"Accept-Encoding": encoding}
        got = await client.get("/jamf/v1/software/Example", headers=headers)
        head = await client.head("/jamf/v1/software/Example", headers=headers)
        # Every answer carries its own request id (docs/operations.md); the rest is the feed's.
        expected = {"content-type", "content-length", "cache-control", "vary", "etag"}
        expected |= {"last-modified", "x-request-id"}
        expected |= {"content-encoding"} if encoding == "gzip" else set()
        assert set(got.headers) == expected, got.headers
        assert head.content == b""
        assert head.headers["x-request-id"] != got.headers["x-request-id"]
        same = {k: v for k, v in got.headers.items() if k != "x-request-id"}
        assert {k: v for k, v in head.headers.items() if k != "x-request-id"} == same
        unchanged = await client.get(
            "/jamf/v1/software/Example", headers={**headers, "If-None-Match": got.headers["etag"]}
        )
        assert unchanged.status_code == 304
        assert set(unchanged.headers) == {
            "cache-control",
            "vary",
            "etag",
            "last-modified",
            "x-request-id",
        }
    zipped = await raw_body(client, "/jamf/v1/software/Example", {"Accept-Encoding": "gzip"})
    assert str(len(zipped)) == got.headers["content-length"]


async def test_an_overlong_id_list_is_422_and_a_missing_title_404_in_the_error_format(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # Longer than httpx lets a URL be: sent to the application as a server would.
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    path = "/jamf/v1/software/" + "a," * 50_001
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET"}
    scope |= {"scheme": "http", "path": path, "raw_path": path.encode(), "root_path": ""}
    scope |= {"query_string": b"", "headers": [], "client": None, "server": ("test", 80)}
    await app(scope, receive, send)

    assert sent[0]["status"] == 422
    assert json.loads(sent[1]["body"])["errors"][0]["path"] == "/ids"
    missing = await client.get("/jamf/v1/patch/Nope/")
    assert missing.json() == {
        "errors": [
            {
                "path": "/title_id",
                "message": "no title 'Nope' on this feed",
                "location": "path",
                "code": "title_not_found",
            }
        ]
    }
    head = await client.head("/jamf/v1/patch/Nope")
    assert head.status_code == 404
    assert head.content == b""
    for path in ("/jamf/v1/patch", "/jamf/v1/patch/", "/jamf/v1/patch/a/b", "/jamf/v1/nothing"):
        elsewhere = await client.get(path)
        assert elsewhere.status_code == 404, path
        assert "/docs" in elsewhere.json()["errors"][0]["message"], path


async def test_the_preview_feed_is_not_served_when_switched_off(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"preview_feed": False}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            assert (await http.get("/jamf/v1/software")).status_code == 200
            for path in ("/jamf/preview/v1/", "/jamf/preview/v1/software"):
                response = await http.get(path)
                assert response.status_code == 404, path
                assert "/docs" in response.json()["errors"][0]["message"]
            paths = (await http.get("/openapi.json")).json()["paths"]
            assert "/jamf/v1/software" in paths
            assert not [p for p in paths if p.startswith("/jamf/preview/")]
