"""Outbound fetches: a URL from a client is checked, and whatever it holds is refused with
``fetch_failed`` at ``/url``, never raised as an error of the server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pomona.net import FetchError, FetchPolicy, check_url, fetch

POLICY = FetchPolicy(timeout=5)


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1",  # urlsplit raises ValueError
        "http://[::1]:99999/",  # .port raises ValueError
        "http://example.com:-1/",
        "http://[not-an-address]/",
        "http://",
        "ftp://example.com/",
        "http://user:secret@example.com/",
        "http://\x00host/",
        "http://" + "a" * 300 + "/",  # a label the resolver's IDNA codec refuses
    ],
)
async def test_a_malformed_url_is_refused(url: str) -> None:
    with pytest.raises(FetchError) as refused:
        await check_url(url, POLICY)
    [problem] = refused.value.problems
    assert (problem.path, problem.code) == ("/url", "fetch_failed")
    assert len(problem.message) < 600  # the URL is quoted, clipped


URLS = st.one_of(
    st.text(),
    st.text().map(lambda rest: "http://" + rest),
    st.text().map(lambda rest: "https://[" + rest),
)


@settings(max_examples=150, deadline=None)
@given(URLS)
async def test_any_url_is_checked_or_refused(url: str) -> None:
    codes = set()
    try:
        await check_url(url, POLICY)
    except FetchError as refused:
        codes = {p.code for p in refused.problems}
    assert codes <= {"fetch_failed"}


@pytest.fixture
async def redirecting() -> AsyncIterator[str]:
    """A server on loopback whose every answer redirects to a URL that cannot be parsed."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 302 Found\r\nLocation: http://[::1\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/software"
    finally:
        server.close()
        await server.wait_closed()


async def test_a_redirect_to_a_malformed_url_fails_the_fetch(redirecting: str) -> None:
    policy = FetchPolicy.from_settings(["127.0.0.0/8"], timeout=5, max_bytes=1024, max_redirects=2)
    with pytest.raises(FetchError) as refused:
        await fetch(redirecting, policy)
    # httpx reads the Location before Pomona does, and refuses it as a protocol error.
    assert refused.value.code == "fetch_failed"
    assert "location" in str(refused.value).lower()
