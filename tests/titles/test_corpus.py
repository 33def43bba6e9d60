"""Real definitions go in through the API and come out on the Jamf feed intact and within contract.

The shared corpus (../shared/corpus/definitions) holds definitions from public repositories,
sloppiness included; the project's own tests/fixtures/example.json covers the same round trip
where the corpus is absent. Every test here runs on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import fixture_text

SUMMARY_KEYS = ("id", "name", "publisher", "lastModified", "currentVersion")
CANONICAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
# Every date in the corpus has this shape, sloppy ones included (2017-9-12T14:19:38.270Z,
# 2016-07-28T09:50.385Z): UTC, fields of one or two digits, maybe no seconds, maybe a fraction.
JAMF_ISH_TIME = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\.\d+)?Z$"
)
CRITERIA_LISTS = ("requirements", "criteria", "capabilities")


def canonical_time(value: str) -> str:
    """The date as the feed must serve it, computed independently of the project's parser."""
    match = JAMF_ISH_TIME.match(value)
    assert match, f"the test does not know how to read the date {value!r}"
    year, month, day, hour, minute, second = (int(g or 0) for g in match.groups())
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z"


def expected_served(original: Any, key: str = "") -> Any:
    """What the feed must serve for an original definition, server-owned fields aside.

    ``and`` missing means true and the string "true" is the boolean; dates are canonical;
    ``dependencies`` missing means ``[]``; appName and bundleId missing mean null.
    """
    if isinstance(original, list):
        if key in CRITERIA_LISTS:
            return [_criterion(c) for c in original]
        if key == "patches":
            return [_patch(p) for p in original]
        return [expected_served(item) for item in original]
    if isinstance(original, dict):
        return {k: expected_served(v, k) for k, v in original.items()}
    return original


def _criterion(original: dict[str, Any]) -> dict[str, Any]:
    criterion = expected_served(original)
    joiner = criterion.get("and", True)
    criterion["and"] = joiner.strip().lower() == "true" if isinstance(joiner, str) else joiner
    return criterion  # type: ignore[no-any-return]


def _patch(original: dict[str, Any]) -> dict[str, Any]:
    patch = expected_served(original)
    patch["releaseDate"] = canonical_time(patch["releaseDate"])
    patch.setdefault("dependencies", [])
    return patch  # type: ignore[no-any-return]


def _title(original: dict[str, Any]) -> dict[str, Any]:
    title = expected_served(original)
    title.setdefault("appName", None)
    title.setdefault("bundleId", None)
    title.setdefault("extensionAttributes", [])
    del title["lastModified"], title["currentVersion"]
    return title  # type: ignore[no-any-return]


def nulls(value: Any, path: str = "") -> Iterator[str]:
    if value is None:
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from nulls(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nulls(item, f"{path}/{index}")


def assert_within_contract(served: dict[str, Any]) -> None:
    """What Jamf Pro needs of a served definition."""
    assert set(nulls(served)) <= {"/appName", "/bundleId"}, "null where Jamf Pro rejects it"
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,255}", served["id"])
    assert served["currentVersion"] == served["patches"][0]["version"]
    assert CANONICAL_TIME.match(served["lastModified"]), served["lastModified"]
    for patch in served["patches"]:
        assert CANONICAL_TIME.match(patch["releaseDate"]), patch["releaseDate"]
    versions = [p["version"] for p in served["patches"]]
    assert len(set(versions)) == len(versions)
    keys = {ea["key"] for ea in served["extensionAttributes"]}
    for patch in served["patches"]:
        for criterion in [
            *served["requirements"],
            *patch["capabilities"],
            *(c for component in patch["components"] for c in component["criteria"]),
        ]:
            assert isinstance(criterion["and"], bool)
            if criterion["type"] == "extensionAttribute":
                assert criterion["name"] in keys


async def round_trip(
    client: httpx.AsyncClient, admin: dict[str, str], text: str
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Post a definition and check what the feed serves; returns it and the post's warnings."""
    original = json.loads(text)
    created = await client.post(
        "/api/v1/titles",
        content=text.encode(),
        headers={**admin, "Content-Type": "application/json"},
    )
    assert created.status_code == 201, created.text
    answer = created.json()
    assert (answer["id"], answer["revision"]) == (original["id"], 1)

    response = await client.get(f"/jamf/v1/patch/{original['id']}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    served: dict[str, Any] = response.json()

    assert_within_contract(served)
    assert {k: v for k, v in served.items() if k not in ("lastModified", "currentVersion")} == (
        _title(original)
    )
    assert served["currentVersion"] == original["patches"][0]["version"]
    assert served == answer["definition"]

    # The native API serves the same document, and the list agrees with it.
    native = await client.get(f"/api/v1/titles/{original['id']}", headers=admin)
    assert native.json() == served
    one = await client.get(f"/jamf/v1/software/{original['id']}")
    assert one.json() == [{k: served[k] for k in SUMMARY_KEYS}]
    return served, answer["warnings"]


def expected_warnings(original: dict[str, Any]) -> list[str]:
    """The repairs a definition needs: only sloppy dates and string booleans in these files."""
    paths = []
    for index, patch in enumerate(original["patches"]):
        given = patch["releaseDate"]
        exact = re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", given)
        if not exact:
            paths.append(f"/patches/{index}/releaseDate")
    return paths


async def test_every_corpus_definition_round_trips(
    client: httpx.AsyncClient, admin: dict[str, str], corpus: list[Path]
) -> None:
    served_by_id: dict[str, dict[str, Any]] = {}
    for path in corpus:
        text = path.read_text()
        served, warnings = await round_trip(client, admin, text)
        original = json.loads(text)
        assert sorted(w["path"] for w in warnings) == sorted(expected_warnings(original)), path.name
        served_by_id[served["id"]] = served

    assert len(served_by_id) == len(corpus), "two corpus files share an id"
    software = (await client.get("/jamf/v1/software")).json()
    assert [s["id"] for s in software] == sorted(served_by_id)
    for summary in software:
        assert summary == {k: served_by_id[summary["id"]][k] for k in SUMMARY_KEYS}
        assert None not in summary.values()


async def test_corpus_contains_the_known_sloppy_dates(corpus: list[Path]) -> None:
    """Guard the corpus test: the sloppiness it must cope with is really there."""
    dates = [p["releaseDate"] for path in corpus for p in json.loads(path.read_text())["patches"]]
    assert "2017-9-12T14:19:38.270Z" in dates
    assert any(not re.fullmatch(r"[\d:TZ-]+", d) for d in dates)  # fractions of a second


async def test_what_the_feed_serves_is_accepted_back_in_strict_mode(
    client: httpx.AsyncClient, admin: dict[str, str], corpus: list[Path]
) -> None:
    for path in corpus:
        served, _ = await round_trip(client, admin, path.read_text())
        replaced = await client.put(
            f"/api/v1/titles/{served['id']}", params={"strict": "true"}, json=served, headers=admin
        )
        assert replaced.status_code == 200, (path.name, replaced.text)
        assert replaced.json()["warnings"] == []
        again = (await client.get(f"/jamf/v1/patch/{served['id']}")).json()
        assert {**again, "lastModified": ""} == {**served, "lastModified": ""}


async def test_strict_mode_rejects_only_the_sloppy_corpus_files(
    client: httpx.AsyncClient, admin: dict[str, str], corpus: list[Path]
) -> None:
    for path in corpus:
        original = json.loads(path.read_text())
        response = await client.post(
            "/api/v1/titles", params={"strict": "true"}, content=path.read_bytes(), headers=admin
        )
        sloppy = expected_warnings(original)
        if sloppy:
            assert response.status_code == 422, path.name
            assert sorted(e["path"] for e in response.json()["errors"]) == sorted(sloppy)
        else:
            assert response.status_code == 201, (path.name, response.text)


# -- the project's own example, so the round trip is covered without the corpus -------------------


async def test_the_example_round_trips(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    served, warnings = await round_trip(client, admin, fixture_text("example.json"))

    assert warnings == []
    assert served["currentVersion"] == "2.1.0"
    assert [p["version"] for p in served["patches"]] == ["2.1.0", "2.0.1", "1.9.7"]
    criteria = served["patches"][0]["components"][0]["criteria"]
    assert [(c["name"], c["type"], c["and"]) for c in criteria] == [
        ("Application Bundle ID", "recon", True),
        ("example-version", "extensionAttribute", True),  # "and" absent in the file: true
    ]
    software = (await client.get("/jamf/v1/software")).json()
    assert software == [{k: served[k] for k in SUMMARY_KEYS}]


async def test_a_sloppy_example_is_served_repaired(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    original = json.loads(fixture_text("example.json"))
    original["patches"][1]["releaseDate"] = "2017-9-12T14:19:38.270Z"
    original["patches"][2]["releaseDate"] = "2016-07-28T09:50.385Z"
    original["requirements"][0]["and"] = "true"
    original["lastModified"] = "not a date"
    original["currentVersion"] = "1.9.7"

    served, warnings = await round_trip(client, admin, json.dumps(original))

    assert [w["path"] for w in warnings] == [
        "/currentVersion",
        "/lastModified",
        "/patches/1/releaseDate",
        "/patches/2/releaseDate",
        "/requirements/0/and",
    ]
    assert [p["releaseDate"] for p in served["patches"]] == [
        "2024-05-01T12:00:00Z",
        "2017-09-12T14:19:38Z",
        "2016-07-28T09:50:00Z",
    ]
    assert served["requirements"][0]["and"] is True
    assert served["currentVersion"] == "2.1.0"


async def test_feed_bytes_are_pretty_printed_with_sorted_keys(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    served, _ = await round_trip(client, admin, fixture_text("example.json"))
    body = (await client.get("/jamf/v1/patch/Example")).content
    assert (
        body == (json.dumps(served, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    )
