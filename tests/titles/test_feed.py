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
