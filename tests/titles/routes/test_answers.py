"""What the title routes share: the If-Match header, refused (412) whatever it holds, never an
error of the server."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pomona.errors import PreconditionFailed
from pomona.titles.routes.answers import MAX_REVISION, revision_of
from tests.conftest import fixture_text

EXAMPLE: dict[str, Any] = json.loads(fixture_text("example.json"))
# What an HTTP header can carry as ASGI hands it over: latin-1, without line breaks or NUL.
HEADER_TEXT = st.one_of(
    st.text(st.characters(max_codepoint=255, exclude_characters="\r\n\x00")),
    # Near misses: ETags with digits int() reads differently, or far too many of them.
    st.from_regex(r'\A(W/)?"?r[0-9\xb2\xb3\xb9]{0,12}"?\Z'),
    st.integers(4000, 6000).map(lambda n: f'"r{"9" * n}"'),
)


@pytest.mark.parametrize(
    ("header", "revision"),
    [(None, None), ("*", None), ('"r3"', 3), ('W/"r3"', 3), (f'"r{MAX_REVISION}"', MAX_REVISION)],
)
def test_a_title_etag_names_its_revision(header: str | None, revision: int | None) -> None:
    assert revision_of(header) == revision


@pytest.mark.parametrize(
    "header",
    [
        '"r' + "9" * 5000 + '"',  # past Python's int conversion limit
        '"r²"',  # str.isdigit() says yes, int() says no
        '"r\u0661\u0662"',  # Arabic-Indic digits: int() reads them, an ETag never has them
        f'"r{MAX_REVISION + 1}"',
        '"r-1"',
        '"r"',
        "7",
    ],
)
def test_what_is_not_a_title_etag_is_refused(header: str) -> None:
    with pytest.raises(PreconditionFailed) as refused:
        revision_of(header)
    [problem] = refused.value.problems
    assert (problem.path, problem.location, problem.code) == (
        "/if-match",
        "header",
        "if_match_invalid",
    )
    assert len(problem.message) < 200  # the header is quoted, clipped


@given(HEADER_TEXT)
def test_any_if_match_is_a_revision_or_refused(header: str) -> None:
    try:
        revision = revision_of(header)
    except PreconditionFailed as refused:
        codes = {p.code for p in refused.problems}
        assert codes == {"if_match_invalid"}, codes
    else:
        assert revision is None or 0 <= revision <= MAX_REVISION


async def test_a_huge_if_match_is_refused_through_the_api(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await client.post("/api/v1/titles", json=EXAMPLE, headers=admin)
    answer = await client.put(
        f"/api/v1/titles/{EXAMPLE['id']}",
        json=EXAMPLE,
        headers={**admin, "If-Match": '"r' + "9" * 5000 + '"'},
    )
    assert answer.status_code == 412, answer.text
    assert [e["code"] for e in answer.json()["errors"]] == ["if_match_invalid"]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(header=HEADER_TEXT)
async def test_no_if_match_is_a_server_error(
    client: httpx.AsyncClient, admin: dict[str, str], header: str
) -> None:
    for method in ("PUT", "DELETE"):
        answer = await client.request(
            method,
            f"/api/v1/titles/{EXAMPLE['id']}",
            json=EXAMPLE if method == "PUT" else None,
            headers={**admin, "If-Match": header.encode("latin-1")},
        )
        assert answer.status_code < 500, answer.text
