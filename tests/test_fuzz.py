"""Fuzz every operation of the API from its own OpenAPI document, with schemathesis.

The application runs in-process on SQLite in a scratch directory, with an admin token and one real
title (``tests/fixtures/example.json``) so that path parameters can reach stored data. Each
operation gets positive (schema-valid) and negative (schema-violating) requests; every answer must
not be a server error, and its status, content type and body must be the ones the document
declares, with every check schemathesis has (``schemathesis.toml`` says what the statuses
mean). Generation is derandomised and bounded, so a run is repeatable and quick.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.python.asgi import get_client, shutdown_lifespans

from pomona.app import create_app
from pomona.settings import Settings
from pomona.titles.schemas import ID_PATTERN
from pomona.titles.version_strings import pattern as version_pattern
from tests import fuzz_hooks  # noqa: F401  (registers the tus media type)
from tests.conftest import fixture_text

# Fuzzing-phase examples per operation (the coverage phase adds its own deterministic cases):
# about 35 operations then take about a minute on two cores.
MAX_EXAMPLES = 25
SEED = 20240501


async def _prepare(app: FastAPI) -> str:
    """Start the app on its own loop, create an admin token, store the example; the secret."""
    async with app.router.lifespan_context(app):
        _, secret = await app.state.services.tokens.create("fuzz", ["admin"])
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pomona.test") as http:
            created = await http.post(
                "/api/v1/titles",
                content=fixture_text("example.json"),
                headers={"Authorization": f"Bearer {secret}"},
            )
        assert created.status_code == 201, created.text
    return str(secret)


# One app, built at import without touching its database (the lifespan does that, at the first
# request), so that every operation schemathesis collects sends its requests to it in-process,
# the checks' own requests included (the same request without credentials, say): what
# ``schemathesis.openapi.from_asgi`` does, without a server to load the document from.
FOLDER = Path(tempfile.mkdtemp(prefix="pomona-fuzz-"))
APP = create_app(
    Settings(data_dir=FOLDER / "data", database_url=f"sqlite+aiosqlite:///{FOLDER / 'f.db'}")
)
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP
schema.config.seed = SEED
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    deterministic=True,
    database="none",
)


EXAMPLE = json.loads(fixture_text("example.json"))
EXAMPLE_VERSIONS = [patch["version"] for patch in EXAMPLE["patches"]]


@schema.hook
def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    """Point a well-formed title id at the stored title (and its versions) about half the time.

    Ids and versions the generator made malformed on purpose (negative cases) are left alone.
    """
    title_id = (path_parameters or {}).get("title_id")
    if path_parameters is None or not isinstance(title_id, str):
        return st.just(path_parameters)
    if not re.fullmatch(ID_PATTERN, title_id):
        return st.just(path_parameters)
    stored = {**path_parameters, "title_id": EXAMPLE["id"]}
    version = path_parameters.get("version")
    if not version:
        return st.sampled_from([path_parameters, stored])
    if not isinstance(version, str) or not re.fullmatch(version_pattern(), version):
        return st.just(path_parameters)  # malformed on purpose: replacing it would make it valid
    with_version = st.sampled_from(EXAMPLE_VERSIONS).map(lambda v: {**stored, "version": v})
    return st.one_of(st.just(path_parameters), with_version)


SECRET: list[str] = []


def admin_secret() -> str:
    """The admin token, made (with the example title) on first use: schemathesis may ask for
    it while it collects the tests, before any fixture runs."""
    if not SECRET:
        SECRET.append(asyncio.run(_prepare(APP)))
    return SECRET[0]


@schema.auth()
class AdminToken:
    """The admin token, applied by schemathesis itself, so that the cases it generates without
    credentials on purpose (to check they are refused) go out without them."""

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
        return admin_secret()

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@dataclass(frozen=True)
class Target:
    app: FastAPI
    headers: dict[str, str]

    def restore_example(self) -> None:
        """Put the example title back as it was, whatever the previous operation did to it."""
        path = f"/api/v1/titles/{EXAMPLE['id']}"
        body = fixture_text("example.json")
        with get_client(self.app) as client:
            if client.get(path, headers=self.headers).status_code == 404:
                answer = client.post("/api/v1/titles", data=body, headers=self.headers)
            else:
                answer = client.put(path, data=body, headers=self.headers)
        assert answer.status_code in (200, 201), answer.text


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    """The app on a fresh SQLite database, with an admin token and the example title stored."""
    secret = admin_secret()
    try:
        yield Target(APP, {"Authorization": f"Bearer {secret}"})
    finally:
        # schemathesis starts the app's lifespan again, on its own loop, at the first request.
        shutdown_lifespans()
        shutil.rmtree(FOLDER, ignore_errors=True)


@pytest.fixture(autouse=True)
def _example_title(target: Target) -> None:
    """Every operation starts with the example title stored (a DELETE fuzzed before may drop it)."""
    target.restore_example()


@schema.parametrize()
def test_api_conforms_to_its_openapi_document(case: schemathesis.Case, target: Target) -> None:
    case.call_and_validate()
