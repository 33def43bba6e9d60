"""The shortest path through the product: post a definition, read it on the Jamf feed."""

from __future__ import annotations

import json

import httpx

from tests.conftest import fixture_text


async def test_posted_definition_is_served_on_the_feed(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await client.post(
        "/api/v1/titles", content=fixture_text("example.json"), headers=admin
    )
    assert created.status_code == 201, created.text
    assert created.json()["revision"] == 1

    served = await client.get("/jamf/v1/patch/Example")
    assert served.status_code == 200
    document = served.json()
    original = json.loads(fixture_text("example.json"))
    assert [p["version"] for p in document["patches"]] == [
        p["version"] for p in original["patches"]
    ]
    assert document["currentVersion"] == "2.1.0"

    summaries = (await client.get("/jamf/v1/software")).json()
    assert [s["id"] for s in summaries] == ["Example"]
