"""Malformed writes: always a 4xx listing every problem, never a 500, never a partial write.

Each case is sent to one of the four write endpoints after the example title is created; the
answer must be ``{"errors": [{"path", "message", "location"}]}`` with exactly the expected paths,
and the title's revision, its feed document and ``/software`` must be byte for byte as before.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from pomona.errors import Invalid
from pomona.settings import Settings
from pomona.titles.services.revisions import bump_generation
from pomona.titles.values import Actor
from tests.conftest import fixture_text

ACTOR = Actor("token:test")

LIMIT = 3 * 1024 * 1024  # max_document_bytes here: 2 MB bodies fit, bigger ones do not
TWO_MB = 2 * 1024 * 1024
DELETE = object()  # a mutation that removes the key

CREATE = ("POST", "/api/v1/titles")
REPLACE = ("PUT", "/api/v1/titles/Example")
ADD_VERSION = ("POST", "/api/v1/titles/Example/versions")
EDIT_VERSION = ("PUT", "/api/v1/titles/Example/versions/2.0.1")
ENDPOINTS = {
    "create": CREATE,
    "replace": REPLACE,
    "add-version": ADD_VERSION,
    "edit-version": EDIT_VERSION,
}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """A small body limit, and a feed that reads the database on every request, so a write
    that reached the database but skipped the cache would still show."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        max_document_bytes=LIMIT,
        feed_refresh_seconds=0.0,
    )


# -- documents ---------------------------------------------------------------------------------


def _parts(path: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in path.split("/")[1:]]


def mutated(document: Any, changes: dict[str, Any]) -> Any:
    """A copy of ``document`` with the value at each JSON pointer replaced (or deleted)."""
    result = copy.deepcopy(document)
    for path, value in changes.items():
        *parents, last = _parts(path)
        target = result
        for part in parents:
            target = target[part]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return result


def example() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(fixture_text("example.json"))
    return document


def new_title(changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A valid definition of a title that does not exist yet, with ``changes``."""
    return mutated(example(), {"/id": "Other", **(changes or {})})  # type: ignore[no-any-return]


def same_title(changes: dict[str, Any] | None = None) -> dict[str, Any]:
    return mutated(example(), changes or {})  # type: ignore[no-any-return]


def new_version(changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A valid new version 3.0 (its criteria name the title's EA), with ``changes``."""
    base = mutated(
        example()["patches"][0],
        {
            "/version": "3.0",
            "/components/0/version": "3.0",
            "/components/0/criteria/1/value": "3.0",
        },
    )
    return mutated(base, changes or {})  # type: ignore[no-any-return]


def leaves(value: Any, path: str = "") -> Iterator[str]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from leaves(item, f"{path}/{key}")
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from leaves(item, f"{path}/{index}")
    elif path:
        yield path


def nested(depth: int) -> list[Any]:
    junk: list[Any] = []
    for _ in range(depth):
        junk = [junk]
    return junk


def encode(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


# Where the server owns the value or null is allowed: nulling these is no error.
NULL_ALLOWED = {"/appName", "/bundleId", "/lastModified", "/currentVersion"}
ALL_NULL_TITLE = dict.fromkeys(leaves(new_title()))
ALL_NULL_VERSION = dict.fromkeys(leaves(new_version()))


def null_errors(paths: dict[str, None]) -> list[str]:
    """Where a null is an error: not in NULL_ALLOWED, and not ``dependencies`` (null means [])."""
    return sorted(p for p in paths if p not in NULL_ALLOWED and not p.endswith("/dependencies"))


DEEP = 40  # past the validator's nesting limit, within what the JSON parser reads
# The validator stops 32 levels below the definition; a version sits 2 levels down in it.
DEEP_PATH = "/dependencies" + "/0" * 29


# -- the table -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    endpoint: tuple[str, str]
    body: bytes
    status: int
    paths: list[str]  # every problem's path, in any order
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    location: str = "body"
    streamed: bool = False  # sent in chunks without a Content-Length


def raw_cases() -> Iterator[Case]:
    """Bodies that are not a usable JSON object, sent to every endpoint."""
    valid = encode(example())
    bodies: list[tuple[str, bytes, int]] = [
        ("not-json", b"this is not JSON", 400),
        ("empty", b"", 400),
        ("whitespace", b" \r\n\t ", 400),
        ("truncated", valid[:-20], 400),
        ("trailing-garbage", valid + b"}", 400),
        ("two-documents", valid + valid, 400),
        ("single-quotes", b"{'id': 'Example'}", 400),
        ("trailing-comma", b'{"id": "Example",}', 400),
        ("comment", b'{"id": "Example" /* note */}', 400),
        ("invalid-utf8", b'{"id": "Ex\xff\xfeample"}', 400),
        ("overlong-utf8", b'{"id": "\xc0\xafExample"}', 400),
        ("lone-surrogate", b'{"id": "\\ud800"}', 400),
        ("utf8-bom", b"\xef\xbb\xbf" + valid, 400),
        ("utf16", json.dumps(example()).encode("utf-16"), 400),
        ("nan", b'{"id": NaN}', 400),
        ("infinity", b'{"id": 1e999}', 400),
        ("deep-arrays", b"[" * 100_000 + b"]" * 100_000, 400),
        ("deep-objects", b'{"a":' * 100_000 + b"1" + b"}" * 100_000, 400),
        ("2mb-not-json", b"x" * TWO_MB, 400),
        ("array", b"[]", 422),
        ("array-of-the-document", b"[" + valid + b"]", 422),
        ("string", b'"Example"', 422),
        ("number", b"42", 422),
        ("float", b"-1.5e3", 422),
        ("null", b"null", 422),
        ("true", b"true", 422),
        ("2mb-string", json.dumps("s" * TWO_MB).encode(), 422),
        ("2mb-array", b"[" + b"0," * (TWO_MB // 2) + b"0]", 422),
    ]
    over = json.dumps({"id": "x" * LIMIT}).encode()
    for endpoint_name, endpoint in ENDPOINTS.items():
        for name, body, status in bodies:
            yield Case(f"{endpoint_name}:{name}", endpoint, body, status, [""])
        yield Case(f"{endpoint_name}:over-the-limit", endpoint, over, 413, [""])
        yield Case(
            f"{endpoint_name}:over-the-limit-streamed", endpoint, over, 413, [""], streamed=True
        )


TITLE_CHANGES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("id-null", {"/id": None}, ["/id"]),
    ("id-missing", {"/id": DELETE}, ["/id"]),
    ("id-empty", {"/id": ""}, ["/id"]),
    ("id-space", {"/id": "Exa mple"}, ["/id"]),
    ("id-slash", {"/id": "Ex/ample"}, ["/id"]),
    ("id-backslash", {"/id": "Ex\\ample"}, ["/id"]),
    ("id-unicode", {"/id": "Éxample"}, ["/id"]),
    ("id-emoji", {"/id": "Example🍎"}, ["/id"]),
    ("id-newline", {"/id": "Example\n"}, ["/id"]),
    ("id-number", {"/id": 7}, ["/id"]),
    ("id-huge-integer", {"/id": 10**30}, ["/id"]),
    ("id-object", {"/id": {"id": "Example"}}, ["/id"]),
    ("id-256", {"/id": "x" * 256}, ["/id"]),
    ("id-2mb", {"/id": "x" * TWO_MB}, ["/id"]),
    ("name-null", {"/name": None}, ["/name"]),
    ("name-empty", {"/name": ""}, ["/name"]),
    ("name-too-long", {"/name": "n" * 256}, ["/name"]),
    ("name-nul", {"/name": "Ex\x00ample"}, ["/name"]),
    ("publisher-list", {"/publisher": ["Example Corp"]}, ["/publisher"]),
    ("app-name-number", {"/appName": 1}, ["/appName"]),
    ("requirements-object", {"/requirements": {"name": "x"}}, ["/requirements"]),
    ("requirements-empty", {"/requirements": []}, ["/requirements"]),
    (
        "requirements-junk",
        {"/requirements": [None, 1, "x", []]},
        [f"/requirements/{i}" for i in range(4)],
    ),
    ("patches-null", {"/patches": None}, ["/patches"]),
    ("patches-empty", {"/patches": []}, ["/patches"]),
    ("patches-string", {"/patches": "2.1.0"}, ["/patches"]),
    ("patch-number", {"/patches/1": 5}, ["/patches/1"]),
    ("and-yes", {"/requirements/0/and": "yes"}, ["/requirements/0/and"]),
    (
        "operator-unknown",
        {"/patches/0/capabilities/0/operator": ">="},
        ["/patches/0/capabilities/0/operator"],
    ),
    ("type-unknown", {"/requirements/0/type": "inventory"}, ["/requirements/0/type"]),
    ("type-number", {"/requirements/0/type": 1}, ["/requirements/0/type"]),
    (
        "ea-not-defined",
        {"/patches/2/components/0/criteria/1/name": "nope"},
        ["/patches/2/components/0/criteria/1/name"],
    ),
    ("ea-not-base64", {"/extensionAttributes/0/value": "%%%"}, ["/extensionAttributes/0/value"]),
    (
        "ea-key-space",
        {"/extensionAttributes/0/key": "a b"},
        [
            "/extensionAttributes/0/key",
            *[f"/patches/{i}/components/0/criteria/1/name" for i in range(3)],
        ],
    ),
    ("ea-list-null", {"/extensionAttributes": None}, ["/extensionAttributes"]),
    ("duplicate-version", {"/patches/1/version": "2.1.0"}, ["/patches/1/version"]),
    ("release-date-words", {"/patches/2/releaseDate": "last tuesday"}, ["/patches/2/releaseDate"]),
    ("release-date-number", {"/patches/2/releaseDate": 1700000000}, ["/patches/2/releaseDate"]),
    ("kill-app-null", {"/patches/0/killApps/0/appName": None}, ["/patches/0/killApps/0/appName"]),
    ("components-empty", {"/patches/0/components": []}, ["/patches/0/components"]),
    (
        "criteria-empty",
        {"/patches/0/components/0/criteria": []},
        ["/patches/0/components/0/criteria"],
    ),
    ("deep-dependencies", {"/patches/0/dependencies": nested(DEEP)}, [f"/patches/0{DEEP_PATH}"]),
    ("null-in-dependencies", {"/patches/0/dependencies": [None]}, ["/patches/0/dependencies/0"]),
    (
        "2mb-unknown-key-and-an-error",
        {"/x-notes": "n" * TWO_MB, "/publisher": None},
        ["/publisher"],
    ),
    (
        "five-errors",
        {
            "/id": "bad id",
            "/requirements/0/operator": "equals",
            "/patches/1/version": "2.1.0",
            "/patches/2/releaseDate": "soon",
            "/extensionAttributes/0/value": "!",
        },
        [
            "/id",
            "/requirements/0/operator",
            "/patches/1/version",
            "/patches/2/releaseDate",
            "/extensionAttributes/0/value",
        ],
    ),
    ("everything-null", ALL_NULL_TITLE, null_errors(ALL_NULL_TITLE)),
]


def title_cases() -> Iterator[Case]:
    for name, changes, paths in TITLE_CHANGES:
        yield Case(f"create:{name}", CREATE, encode(new_title(changes)), 422, paths)
        yield Case(f"replace:{name}", REPLACE, encode(same_title(changes)), 422, paths)
    for endpoint_name, endpoint, build in (
        ("create", CREATE, new_title),
        ("replace", REPLACE, same_title),
    ):
        yield Case(
            f"{endpoint_name}:empty-object",
            endpoint,
            b"{}",
            422,
            ["/id", "/name", "/patches", "/publisher", "/requirements"],
        )
        # Duplicate keys: the last one counts, so a bad last value is what gets reported.
        text = encode(build()).decode()
        duplicated = text.replace('"name": "Example"', '"name": "Example", "name": null', 1)
        yield Case(f"{endpoint_name}:duplicate-key", endpoint, duplicated.encode(), 422, ["/name"])
        sloppy = build({"/patches/1/releaseDate": "2017-9-12T14:19:38.270Z"})
        yield Case(
            f"{endpoint_name}:strict-with-a-sloppy-date",
            endpoint,
            encode(sloppy),
            422,
            ["/patches/1/releaseDate"],
            params={"strict": "true"},
        )
        yield Case(
            f"{endpoint_name}:strict-param-not-a-boolean",
            endpoint,
            encode(build()),
            422,
            ["/strict"],
            params={"strict": "perhaps"},
            location="query",
        )
    yield Case("replace:other-id", REPLACE, encode(new_title()), 422, ["/id"])
    yield Case(
        "replace:stale-if-match",
        REPLACE,
        encode(same_title()),
        412,
        [""],
        headers={"If-Match": '"r7"'},
    )
    yield Case("create:existing-id", CREATE, encode(example()), 409, ["/id"])
    yield Case(
        "replace:missing-title",
        ("PUT", "/api/v1/titles/Nope"),
        encode(new_title({"/id": "Nope"})),
        404,
        [""],
    )
    yield Case(
        "replace:id-with-space-in-url",
        ("PUT", "/api/v1/titles/Exa%20mple"),
        encode(same_title()),
        422,
        ["/title_id"],
        location="path",
    )


VERSION_CHANGES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("version-null", {"/version": None}, ["/version"]),
    ("version-missing", {"/version": DELETE}, ["/version"]),
    ("version-number", {"/version": 3.0}, ["/version"]),
    ("version-empty", {"/version": ""}, ["/version"]),
    ("version-too-long", {"/version": "v" * 256}, ["/version"]),
    ("version-2mb", {"/version": "v" * TWO_MB}, ["/version"]),
    ("version-nul", {"/version": "3.0\x00"}, ["/version"]),
    ("release-date-words", {"/releaseDate": "soon"}, ["/releaseDate"]),
    ("release-date-feb-30", {"/releaseDate": "2024-02-30T00:00:00Z"}, ["/releaseDate"]),
    ("release-date-null", {"/releaseDate": None}, ["/releaseDate"]),
    ("standalone-maybe", {"/standalone": "maybe"}, ["/standalone"]),
    ("reboot-null", {"/reboot": None}, ["/reboot"]),
    ("minimum-os-number", {"/minimumOperatingSystem": 12}, ["/minimumOperatingSystem"]),
    ("kill-apps-string", {"/killApps": "Example.app"}, ["/killApps"]),
    ("kill-app-missing-name", {"/killApps/0/appName": DELETE}, ["/killApps/0/appName"]),
    ("components-empty", {"/components": []}, ["/components"]),
    ("components-object", {"/components": {"name": "Example"}}, ["/components"]),
    (
        "criteria-junk",
        {"/components/0/criteria": [1, None, "x"]},
        [f"/components/0/criteria/{i}" for i in range(3)],
    ),
    ("criterion-and-number", {"/components/0/criteria/0/and": 1}, ["/components/0/criteria/0/and"]),
    (
        "ea-not-defined",
        {"/components/0/criteria/1/name": "nope"},
        ["/components/0/criteria/1/name"],
    ),
    ("operator-unknown", {"/capabilities/0/operator": "gte"}, ["/capabilities/0/operator"]),
    ("capabilities-null", {"/capabilities": None}, ["/capabilities"]),
    ("deep-dependencies", {"/dependencies": nested(DEEP)}, [DEEP_PATH]),
    ("everything-null", ALL_NULL_VERSION, null_errors(ALL_NULL_VERSION)),
    (
        "four-errors",
        {
            "/releaseDate": "soon",
            "/reboot": "no",
            "/components/0/criteria/1/name": "nope",
            "/capabilities/0/type": "os",
        },
        ["/releaseDate", "/reboot", "/components/0/criteria/1/name", "/capabilities/0/type"],
    ),
]


def version_cases() -> Iterator[Case]:
    required = [
        "/capabilities",
        "/components",
        "/killApps",
        "/minimumOperatingSystem",
        "/reboot",
        "/releaseDate",
        "/standalone",
        "/version",
    ]
    for name, changes, paths in VERSION_CHANGES:
        body = encode(new_version(changes))
        yield Case(f"add-version:{name}", ADD_VERSION, body, 422, paths)
        yield Case(f"edit-version:{name}", EDIT_VERSION, body, 422, paths)
    for endpoint_name, endpoint in (("add-version", ADD_VERSION), ("edit-version", EDIT_VERSION)):
        yield Case(f"{endpoint_name}:empty-object", endpoint, b"{}", 422, required)
        # Its top-level keys are unknown in a version (dropped); every version key is missing.
        yield Case(
            f"{endpoint_name}:a-whole-definition", endpoint, encode(example()), 422, required
        )
    # Conflicts and unknown places.
    yield Case(
        "add-version:existing-version",
        ADD_VERSION,
        encode(new_version({"/version": "2.0.1"})),
        409,
        ["/version"],
    )
    yield Case(
        "edit-version:rename-to-existing",
        EDIT_VERSION,
        encode(new_version({"/version": "2.1.0"})),
        409,
        ["/version"],
    )
    yield Case(
        "edit-version:missing-version",
        ("PUT", "/api/v1/titles/Example/versions/9.9"),
        encode(new_version()),
        404,
        [""],
    )
    yield Case(
        "add-version:missing-title",
        ("POST", "/api/v1/titles/Nope/versions"),
        encode(new_version()),
        404,
        [""],
    )
    yield Case(
        "add-version:after-and-before",
        ADD_VERSION,
        encode(new_version()),
        422,
        ["/after"],
        params={"after": "2.0.1", "before": "2.1.0"},
        location="query",
    )
    yield Case(
        "add-version:after-unknown",
        ADD_VERSION,
        encode(new_version()),
        404,
        ["/after"],
        params={"after": "0.1"},
        location="query",
    )
    yield Case(
        "add-version:before-unknown",
        ADD_VERSION,
        encode(new_version()),
        404,
        ["/before"],
        params={"before": "0.1"},
        location="query",
    )


CASES = [*raw_cases(), *title_cases(), *version_cases()]


# -- the test --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    revision: str
    titles: bytes
    patch: bytes
    software: bytes
    other_patch: int


async def state(client: httpx.AsyncClient, admin: dict[str, str]) -> State:
    """Everything a partial write could have touched."""
    title = await client.get("/api/v1/titles/Example", headers=admin)
    assert title.status_code == 200
    return State(
        revision=title.headers["ETag"],
        titles=(await client.get("/api/v1/titles", headers=admin)).content,
        patch=(await client.get("/jamf/v1/patch/Example")).content,
        software=(await client.get("/jamf/v1/software")).content,
        other_patch=(await client.get("/jamf/v1/patch/Other")).status_code,
    )


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 256 * 1024):
        yield body[start : start + 256 * 1024]


async def send(client: httpx.AsyncClient, admin: dict[str, str], case: Case) -> httpx.Response:
    method, url = case.endpoint
    headers = {**admin, "Content-Type": "application/json", **case.headers}
    content: bytes | AsyncIterator[bytes] = _chunks(case.body) if case.streamed else case.body
    return await client.request(method, url, content=content, params=case.params, headers=headers)


@pytest.fixture
async def example_title(client: httpx.AsyncClient, admin: dict[str, str]) -> State:
    created = await client.post(
        "/api/v1/titles", content=fixture_text("example.json"), headers=admin
    )
    assert created.status_code == 201, created.text
    return await state(client, admin)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_malformed_write_is_refused_without_a_trace(
    client: httpx.AsyncClient, admin: dict[str, str], example_title: State, case: Case
) -> None:
    response = await send(client, admin, case)

    assert response.status_code == case.status, response.text[:2000]
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert list(answer) == ["errors"]
    for error in answer["errors"]:
        assert list(error) == ["path", "message", "location", "code"]
        assert isinstance(error["message"], str)
        assert error["message"]
        assert isinstance(error["code"], str)
        assert error["code"]
    assert sorted(e["path"] for e in answer["errors"]) == sorted(case.paths)
    assert {e["location"] for e in answer["errors"]} == {case.location}
    assert await state(client, admin) == example_title


def test_the_table_covers_every_endpoint_and_status() -> None:
    assert {c.endpoint for c in CASES} >= set(ENDPOINTS.values())
    assert {c.status for c in CASES} == {400, 404, 409, 412, 413, 422}
    assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"


async def test_every_null_is_listed_at_once(
    client: httpx.AsyncClient, admin: dict[str, str], example_title: State
) -> None:
    """The biggest single answer in the table, checked for its size: one error per value."""
    response = await client.post("/api/v1/titles", json=new_title(ALL_NULL_TITLE), headers=admin)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert len(errors) == len(null_errors(ALL_NULL_TITLE)) > 50
    assert {e["message"] for e in errors} == {"must not be null; Jamf Pro rejects null here"}


async def test_a_version_error_message_names_what_to_do(
    client: httpx.AsyncClient, admin: dict[str, str], example_title: State
) -> None:
    body = new_version({"/components/0/criteria/1/name": "nope"})
    response = await client.post("/api/v1/titles/Example/versions", json=body, headers=admin)
    assert response.json()["errors"] == [
        {
            "path": "/components/0/criteria/1/name",
            "message": "no extension attribute with key 'nope' in /extensionAttributes "
            "(example-version)",
            "location": "body",
            "code": "invalid",
        }
    ]


async def test_a_valid_write_after_failures_still_works(
    client: httpx.AsyncClient, admin: dict[str, str], example_title: State
) -> None:
    """The failed writes left nothing behind that blocks the next good one (locks, ids)."""
    for case in CASES[:: max(1, len(CASES) // 15)]:
        assert (await send(client, admin, case)).status_code == case.status
    added = await client.post("/api/v1/titles/Example/versions", json=new_version(), headers=admin)
    assert added.status_code == 201, added.text
    assert added.json()["revision"] == 2
    created = await client.post("/api/v1/titles", json=new_title(), headers=admin)
    assert created.status_code == 201, created.text
    assert (await client.get("/jamf/v1/patch/Example")).json()["currentVersion"] == "3.0"


async def test_strict_version_write_of_a_canonical_version_is_accepted(
    client: httpx.AsyncClient, admin: dict[str, str], example_title: State
) -> None:
    response = await client.post(
        "/api/v1/titles/Example/versions",
        params={"strict": "true"},
        json=new_version(),
        headers=admin,
    )
    assert response.status_code == 201, response.text


# -- validation outside the write lock ------------------------------------------------------------


async def test_an_invalid_definition_is_refused_while_another_write_holds_the_lock(
    app: FastAPI,
) -> None:
    """Validation happens before the lock: a refused write never waits for another to end."""
    titles = app.state.services.titles
    db = app.state.services.db
    async with db.transaction() as session:
        await bump_generation(session)  # the write lock, held until the block ends
        with pytest.raises(Invalid) as caught:
            await asyncio.wait_for(titles.create({"id": "Broken"}, ACTOR), timeout=2)
    assert caught.value.code == "invalid"


async def test_concurrent_version_edits_of_one_title_all_land(app: FastAPI) -> None:
    """Edits are made and validated from the title as read, then written under the lock only if
    the title is still at that revision: racing edits are made again, none is lost."""
    titles = app.state.services.titles
    await titles.create(orjson.loads(fixture_text("example.json")), ACTOR)
    before = (await titles.get("Example")).revision
    added = [f"9.{n}.0" for n in range(6)]

    results = await asyncio.gather(
        *(titles.add_version("Example", version_body(v), ACTOR) for v in added)
    )

    record = await titles.get("Example")
    assert set(added) <= {p.version for p in record.title.patches}
    assert sorted(r.revision for r in results) == list(range(before + 1, before + 7))
    assert record.revision == before + 6


async def test_an_unchanged_state_writes_no_revision(app: FastAPI) -> None:
    titles = app.state.services.titles
    created = await titles.create(orjson.loads(fixture_text("example.json")), ACTOR)

    again = await titles.set_enabled("Example", True, ACTOR)

    assert again.summary == "no change"
    assert again.revision == created.revision == (await titles.get("Example")).revision


def version_body(version: str) -> dict[str, Any]:
    """The example's newest version under another version string."""
    patch: dict[str, Any] = orjson.loads(fixture_text("example.json"))["patches"][0]
    return {**patch, "version": version}
