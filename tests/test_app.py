"""The OpenAPI document: valid, complete about errors, and true to what the app answers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI

from pomona.app import create_app
from pomona.settings import Settings
from tests.conftest import fixture_text, make_token

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ERRORS_OUT = "#/components/schemas/ErrorsOut"
# Filled into path templates by the probes; the example title and one of its versions are stored.
PATH_VALUES = {"title_id": "Example", "version": "2.1.0", "ids": "Example"}
LIMIT = 8192  # a small max_document_bytes (the example is ~4 kB), so oversized bodies stay small


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    """The document does not depend on the database engine: SQLite only."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'pomona.db'}",
        max_document_bytes=LIMIT,
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    return answer.json()  # type: ignore[no-any-return]


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def json_schema(response_or_body: dict[str, Any]) -> dict[str, Any] | None:
    return response_or_body.get("content", {}).get("application/json", {}).get("schema")


# -- validity -----------------------------------------------------------------------------------


async def test_document_is_valid_openapi(document: dict[str, Any]) -> None:
    assert re.fullmatch(r"3\.\d+\.\d+", document["openapi"])
    # Against the OpenAPI meta-schema, with the validator schemathesis ships.
    schemathesis.openapi.from_dict(document).validate()

    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)

    components = document["components"]["schemas"]
    for ref in set(refs(document)):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in components, f"dangling {ref}"

    schemes = document["components"].get("securitySchemes", {})
    for _, _, operation in operations(document):
        for requirement in operation.get("security", []):
            assert set(requirement) <= set(schemes), requirement


def test_validator_rejects_an_invalid_document() -> None:
    """The validity check above can fail: a document without responses is refused."""
    broken = {
        "openapi": "3.1.0",
        "info": {"title": "x", "version": "1"},
        "paths": {"/x": {"get": {"responses": "none"}}},
    }
    with pytest.raises(Exception, match="responses"):
        schemathesis.openapi.from_dict(broken).validate()


async def test_document_is_stable(app: FastAPI) -> None:
    """Operation ids do not depend on set ordering: two builds give the same document."""
    again = create_app(app.state.settings)
    assert again.openapi() == app.openapi()


# -- errors are documented -----------------------------------------------------------------------


# Answered by the HTTP server itself, with no body, before Pomona sees the request.
SERVERS_OWN = {"414", "431"}


async def test_every_error_answer_is_errors_out(document: dict[str, Any]) -> None:
    assert document["components"]["schemas"]["ErrorsOut"]["required"] == ["errors"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            if status in SERVERS_OWN:
                assert "content" not in response, f"{method.upper()} {path} {status}"
            elif status.startswith(("4", "5")):
                schema = json_schema(response)
                assert schema == {"$ref": ERRORS_OUT}, f"{method.upper()} {path} {status}"
                assert response.get("description"), f"{method.upper()} {path} {status}"


SIGN_IN = {("post", "/api/v1/session"), ("get", "/api/v1/session/oidc/callback")}


async def test_error_statuses_are_documented_consistently(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        label = f"{method.upper()} {path}"
        statuses = set(operation["responses"])
        if path.startswith("/api/v1/replication/peer/"):
            # The protocol between replication peers: signed requests, never a token (401).
            assert operation["security"] == [{"peerSignature": []}], label
            assert "WWW-Authenticate" in operation["responses"]["401"]["headers"], label
        elif path.startswith("/api/") and "401" in statuses:
            # Signing in is the one thing done without credentials (its 401: refused ones).
            public = (method, path) in SIGN_IN
            assert operation["security"] == ([{}] if public else [{"bearerAuth": []}]), label
            assert "403" in statuses, label
            assert "WWW-Authenticate" in operation["responses"]["401"]["headers"], label
        if path.startswith("/api/v1/titles"):
            assert {"401", "403", "422"} <= statuses, label
        if path.startswith("/jamf/"):
            assert "401" not in statuses, label
            assert "security" not in operation, label
        body = operation.get("requestBody")
        if body is not None and json_schema(body) is not None:
            # Bodies are read by hand: unreadable, too large, or invalid.
            assert {"400", "413", "422"} <= statuses, label
        if "{" in path:
            assert "404" in statuses or "422" in statuses, label


async def test_titles_bodies_reference_the_jamf_models(document: dict[str, Any]) -> None:
    expected = {
        ("/api/v1/titles", "post"): "SoftwareTitle",
        ("/api/v1/titles/{title_id}", "put"): "SoftwareTitle",
        ("/api/v1/titles/{title_id}/versions", "post"): "Patch",
        ("/api/v1/titles/{title_id}/versions/{version}", "put"): "Patch",
    }
    components = document["components"]["schemas"]
    for (path, method), model in expected.items():
        body = document["paths"][path][method]["requestBody"]
        assert body["required"] is True
        assert json_schema(body) == {"$ref": f"#/components/schemas/{model}"}
        assert components[model]["properties"], model
    assert {"id", "name", "publisher", "patches"} <= set(components["SoftwareTitle"]["required"])
    assert "version" in components["Patch"]["required"]
    # What the models refer to is there too.
    for ref in refs([components["SoftwareTitle"], components["Patch"]]):
        assert ref.removeprefix("#/components/schemas/") in components


# -- what the app answers is what the document says ----------------------------------------------


async def test_every_4xx_the_app_answers_is_documented(
    app: FastAPI, client: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    admin = await make_token(app, "admin", "admin")
    created = await client.post(
        "/api/v1/titles", content=fixture_text("example.json"), headers=admin
    )
    assert created.status_code == 201, created.text
    others = [
        {},  # no token
        {"Authorization": "Bearer not-a-token"},
        await make_token(app, "titles", "titles:read"),
        await make_token(app, "packages", "packages:read"),
    ]

    seen: dict[str, set[int]] = {}
    undocumented: list[str] = []

    async def probe(path: str, method: str, operation: dict[str, Any], **kwargs: Any) -> None:
        url = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m[1], "x"), path)
        answer = await client.request(method.upper(), url, **kwargs)
        assert answer.status_code < 500, f"{method.upper()} {url}: {answer.text}"
        seen.setdefault(f"{method.upper()} {path}", set()).add(answer.status_code)
        if 400 <= answer.status_code < 500:
            if str(answer.status_code) not in operation["responses"]:
                undocumented.append(f"{method.upper()} {path} -> {answer.status_code}")
            if method != "head":
                assert answer.json()["errors"], f"{method.upper()} {url}: {answer.text}"

    for path, method, operation in operations(document):
        for headers in others:
            await probe(path, method, operation, headers=headers)
        if "requestBody" in operation:
            content_type = next(iter(operation["requestBody"]["content"]))
            json_headers = {**admin, "Content-Type": content_type}
            await probe(path, method, operation, headers=json_headers, content=b"{not json")
            await probe(path, method, operation, headers=json_headers, content=b"x" * (LIMIT + 1))
            await probe(path, method, operation, headers=json_headers, content=b"[]")
        if "{" in path:
            missing = re.sub(r"\{\w+\}", "no-such-thing", path)
            answer = await client.request(method.upper(), missing, headers=admin)
            if 400 <= answer.status_code < 500 and (
                str(answer.status_code) not in operation["responses"]
            ):
                undocumented.append(f"{method.upper()} {path} -> {answer.status_code}")
        if any(p["name"] == "perPage" for p in operation.get("parameters", [])):
            await probe(path, method, operation, headers=admin, params={"perPage": "0"})

    assert not undocumented, undocumented
    # The probes did reach the errors they aim at.
    assert {401, 403} <= seen["GET /api/v1/titles"]
    assert {400, 401, 403, 413, 422} <= seen["POST /api/v1/titles"]
    assert {400, 413} <= seen["PUT /api/v1/titles/{title_id}"]


async def test_answers_to_known_errors_are_documented(
    app: FastAPI, client: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    admin = await make_token(app, "admin", "admin")
    body = fixture_text("example.json")
    cases = [
        ("POST", "/api/v1/titles", {"content": body}, 201),
        ("POST", "/api/v1/titles", {"content": body}, 409),
        ("PUT", "/api/v1/titles/Example", {"content": body, "headers": {"If-Match": '"r9"'}}, 412),
        ("PUT", "/api/v1/titles/Example", {"content": body, "headers": {"If-Match": "x"}}, 412),
        ("GET", "/api/v1/titles/nope", {}, 404),
        ("GET", "/api/v1/titles/Example/versions/0.0.0", {}, 404),
        ("GET", "/api/v1/titles", {"params": {"page": "0"}}, 422),
        ("GET", "/jamf/v1/patch/nope", {}, 404),
        ("GET", "/api/v1/titles/bad%20id", {}, 422),
    ]
    templates = {
        re.sub(r"\{\w+\}", "[^/]+", path): path for path in document["paths"] if "{" in path
    }
    for method, url, kwargs, status in cases:
        headers = {**admin, **kwargs.pop("headers", {})}
        answer = await client.request(method, url, headers=headers, **kwargs)
        assert answer.status_code == status, f"{method} {url}: {answer.text}"
        path = url.split("?")[0].replace("%20", " ")
        template = next((t for r, t in templates.items() if re.fullmatch(r, path)), path)
        assert str(status) in document["paths"][template][method.lower()]["responses"], url


# -- the browsable documentation -----------------------------------------------------------------


async def test_docs_render(client: httpx.AsyncClient) -> None:
    answer = await client.get("/docs")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in answer.text
    assert "/openapi.json" in answer.text
    redoc = await client.get("/redoc")
    assert redoc.status_code == 200
    assert "/openapi.json" in redoc.text


async def test_docs_need_no_internet(client: httpx.AsyncClient) -> None:
    """Every script, style and icon the pages load is served by Pomona itself."""
    for page in ("/docs", "/redoc"):
        html = (await client.get(page)).text
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
        assert assets, page
        for asset in assets:
            assert asset.startswith("/"), f"{page} loads {asset} from another host"
            answer = await client.get(asset)
            assert answer.status_code == 200, asset
            assert len(answer.content) > 1000, asset
