"""Domain errors as HTTP answers: one status per kind, every problem with its code."""

from __future__ import annotations

import httpx
import orjson
import pytest

from pomona.errors import KINDS, MAX_PROBLEMS, DomainError, Invalid, NotFound, Problem
from pomona.errors_http import STATUS, error_of, error_response, status_of


def test_every_kind_has_one_status_and_back() -> None:
    assert set(STATUS) == set(KINDS)
    for kind, cls in KINDS.items():
        assert cls.kind == kind
        assert error_of(STATUS[kind], "x").kind == kind


@pytest.mark.parametrize(("status", "kind"), [(418, "bad_request"), (502, "internal")])
def test_a_status_without_a_kind_falls_back_by_class(status: int, kind: str) -> None:
    assert error_of(status, "x").kind == kind


def test_problems_take_the_error_code_unless_they_have_their_own() -> None:
    error = Invalid(
        [Problem("/a", "wrong"), Problem("/b", "repaired", code="repaired")], code="title_invalid"
    )
    response = error_response(error)

    assert response.status_code == status_of(error) == 422
    assert orjson.loads(response.body) == {
        "errors": [
            {"path": "/a", "message": "wrong", "location": "body", "code": "title_invalid"},
            {"path": "/b", "message": "repaired", "location": "body", "code": "repaired"},
        ]
    }


def test_a_domain_error_names_no_status() -> None:
    error: DomainError = NotFound("no title 'x'", "/title_id", "path", code="title_not_found")
    assert not hasattr(error, "status")
    assert error.problems == [Problem("/title_id", "no title 'x'", "path", "title_not_found")]


async def test_answers_made_by_the_framework_carry_codes_too(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    missing = await client.get("/nowhere")
    wrong_method = await client.delete("/openapi.json")
    unauthenticated = await client.get("/api/v1/titles")
    unreadable = await client.get("/api/v1/audit", params={"perPage": "many"}, headers=admin)

    assert [missing.status_code, wrong_method.status_code] == [404, 405]
    assert missing.json()["errors"][0]["code"] == "not_found"
    assert wrong_method.json()["errors"][0]["code"] == "not_allowed"
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["www-authenticate"] == "Bearer"
    assert unauthenticated.json()["errors"][0]["code"] == "token_missing"
    assert unreadable.status_code == 422
    assert unreadable.json()["errors"] == [
        {
            "path": "/perPage",
            "message": unreadable.json()["errors"][0]["message"],
            "location": "query",
            "code": "invalid",
        }
    ]


def test_an_answer_lists_the_first_problems_and_how_many_more() -> None:
    error = Invalid([Problem(f"/{i}", "not a definition") for i in range(MAX_PROBLEMS + 250)])

    body = orjson.loads(error_response(error).body)["errors"]

    assert len(body) == MAX_PROBLEMS + 1
    assert body[MAX_PROBLEMS - 1]["path"] == f"/{MAX_PROBLEMS - 1}"
    assert body[-1] == {
        "path": "",
        "message": "and 250 more problems; mend these first",
        "location": "body",
        "code": "more_problems",
    }


async def test_an_import_of_many_bad_documents_answers_a_bounded_list(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    documents = orjson.dumps([[] for _ in range(5_000)])  # within archive_max_members

    answer = await client.post(
        "/api/v1/imports", content=documents, headers={**admin, "Content-Type": "application/json"}
    )

    assert answer.status_code in (400, 422), answer.text[:300]
    problems = answer.json()["errors"]
    assert len(problems) <= MAX_PROBLEMS + 1
    assert len(answer.content) < 1024 * 1024
