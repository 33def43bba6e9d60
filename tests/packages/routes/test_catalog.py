"""The package records through HTTP, in process, on every database engine."""

from __future__ import annotations

import httpx

from tests.packages.conftest import payload, put


async def test_records_api(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for index, name in enumerate(["Zoom.pkg", "Chrome.dmg", "Slack.zip"]):
        assert (await put(client, admin, name, payload(1000, seed=10 + index))).status_code == 201
    patched = await client.patch(
        "/api/v1/packages/Chrome.dmg",
        json={"notes": "Chrome 131", "tags": ["test", "prod"]},
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["tags"] == ["prod", "test"]
    assert patched.json()["notes"] == "Chrome 131"
    await client.patch("/api/v1/packages/Zoom.pkg", json={"tags": ["dev"]}, headers=admin)
    listed = (await client.get("/api/v1/packages", headers=admin)).json()
    assert [i["filename"] for i in listed["items"]] == ["Chrome.dmg", "Slack.zip", "Zoom.pkg"]
    assert listed["total"] == 3
    prod = (await client.get("/api/v1/packages", params={"tag": "prod"}, headers=admin)).json()
    assert [i["filename"] for i in prod["items"]] == ["Chrome.dmg"]
    found = (await client.get("/api/v1/packages", params={"q": "131"}, headers=admin)).json()
    assert [i["filename"] for i in found["items"]] == ["Chrome.dmg"]
    paged = (
        await client.get("/api/v1/packages", params={"perPage": 2, "page": 2}, headers=admin)
    ).json()
    assert [i["filename"] for i in paged["items"]] == ["Zoom.pkg"]
    assert paged["total"] == 3
    bad = await client.patch(
        "/api/v1/packages/Zoom.pkg", json={"tags": ["no spaces"], "x": 1}, headers=admin
    )
    assert bad.status_code == 422
    # Validated once, by the model: every problem is listed, each located.
    assert {e["path"] for e in bad.json()["errors"]} == {"/x", "/tags/0"}
    bad = await client.patch(
        "/api/v1/packages/Zoom.pkg", json={"tags": ["no spaces"]}, headers=admin
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["path"] == "/tags/0"
    assert (
        await client.patch("/api/v1/packages/none.pkg", json={}, headers=admin)
    ).status_code == 404
    assert (await client.delete("/api/v1/packages/Zoom.pkg", headers=admin)).status_code == 204
    assert (await client.get("/api/v1/packages/Zoom.pkg", headers=admin)).status_code == 404
    assert (await client.get("/Packages/Zoom.pkg")).status_code == 404
    assert (await client.delete("/api/v1/packages/Zoom.pkg", headers=admin)).status_code == 404


async def test_notes_are_checked(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    assert (await put(client, admin, "n.pkg", payload(10))).status_code == 201
    refused = await client.patch(
        "/api/v1/packages/n.pkg", json={"notes": "one\u0000two\u0007"}, headers=admin
    )
    assert refused.status_code == 422, refused.text
    assert [(e["code"], e["path"]) for e in refused.json()["errors"]] == [
        ("notes_invalid", "/notes"),
        ("notes_invalid", "/notes"),
    ]
    kept = await client.patch("/api/v1/packages/n.pkg", json={"notes": "a\n\tb"}, headers=admin)
    assert kept.json()["notes"] == "a\n\tb"
