"""``POST /api/v1/titles/{id}/versions?from=newest``: a version made from the newest one, as
admins make them by hand, in one revision; refusals listing every problem."""

from __future__ import annotations

import httpx

from tests.conftest import fixture_text


async def test_a_version_from_the_newest(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    made = await client.post("/api/v1/titles", content=fixture_text("example.json"), headers=admin)
    assert made.status_code == 201, made.text
    answer = await client.post(
        "/api/v1/titles/Example/versions?from=newest",
        json={"version": "2.2.0", "releaseDate": "2024-06-11T08:30:00Z"},
        headers=admin,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["revision"] == 2
    patch = answer.json()["version"]
    assert patch["version"] == patch["components"][0]["version"] == "2.2.0"
    assert patch["releaseDate"] == "2024-06-11T08:30:00Z"
    values = [c["value"] for c in patch["components"][0]["criteria"]]
    assert "2.2.0" in values
    assert "2.1.0" not in values
    feed = (await client.get("/jamf/v1/patch/Example")).json()
    assert feed["currentVersion"] == "2.2.0"

    again = await client.post(
        "/api/v1/titles/Example/versions?from=newest", json={"version": "2.2.0"}, headers=admin
    )
    assert again.status_code == 409
    bad = await client.post(
        "/api/v1/titles/Example/versions?from=newest",
        json={"version": 3, "releaseDate": False},
        headers=admin,
    )
    assert bad.status_code == 422
    assert {e["path"] for e in bad.json()["errors"]} == {"/version", "/releaseDate"}
    history = (await client.get("/api/v1/titles/Example/history", headers=admin)).json()
    assert len(history["items"]) == 2
