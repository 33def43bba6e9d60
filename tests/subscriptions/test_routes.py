"""The subscriptions API end to end: subscribe (the first check queued at once), check now and
dry-run as jobs, the served layers and overrides, detach and re-attach, bulk subscribe to
another source, and refusals as 4xx listing every problem."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import make_token
from tests.subscriptions.conftest import Upstream, fixture_json
from tests.subscriptions.test_sync import newer


async def finished(client: httpx.AsyncClient, job: dict[str, Any], headers: Any) -> Any:
    for _ in range(400):
        if job["status"] in ("succeeded", "failed"):
            return job
        await asyncio.sleep(0.05)
        job = (await client.get(job["url"], headers=headers)).json()
    raise AssertionError(f"job did not finish: {job}")


async def until(client: httpx.AsyncClient, path: str, headers: Any, test: Any) -> Any:
    for _ in range(400):
        answer = await client.get(path, headers=headers)
        if answer.status_code == 200 and test(answer.json()):
            return answer.json()
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} never became as expected: {answer.text}")


async def check(client: httpx.AsyncClient, pk: int, headers: Any, dry: bool = False) -> Any:
    answer = await client.post(
        f"/api/v1/subscriptions/{pk}/check", params={"dryRun": dry}, headers=headers
    )
    assert answer.status_code == 202, answer.text
    done = await finished(client, answer.json(), headers)
    assert done["status"] == "succeeded", done
    return done["result"]


async def test_subscribe_check_override_detach_through_the_api(
    client: httpx.AsyncClient, admin: dict[str, str], upstream: Upstream
) -> None:
    url = upstream.serve("/jamf/v1/patch/Example", fixture_json("definition.json"))
    answer = await client.post("/api/v1/subscriptions", json={"url": url}, headers=admin)
    assert answer.status_code == 201, answer.text
    sub = answer.json()
    assert sub["titleId"] == "Example"
    assert sub["kind"] == "definition"
    assert sub["every"] == 3600
    pk = sub["id"]
    # The first check was queued by the subscribe itself.
    await until(client, "/jamf/v1/patch/Example", {}, lambda d: d["currentVersion"] == "2.1.0")
    shown = await until(client, f"/api/v1/subscriptions/{pk}", admin, lambda s: s["lastSuccessAt"])
    assert shown["latestVersion"] == "2.1.0"
    assert shown["failures"] == 0

    upstream.serve("/jamf/v1/patch/Example", newer(fixture_json("definition.json"), "2.2.0"))
    preview = await check(client, pk, admin, dry=True)
    assert preview["outcome"] == "updated"
    assert preview["dryRun"] is True
    assert preview["diff"]["versions"]["added"] == ["2.2.0"]
    assert (await client.get("/jamf/v1/patch/Example")).json()["currentVersion"] == "2.1.0"

    overrides = {"currentVersion": "2.1.0", "hideVersions": ["1.9.7"]}
    answer = await client.put(
        f"/api/v1/subscriptions/{pk}/overrides", json=overrides, headers=admin
    )
    assert answer.status_code == 200, answer.text
    # The overrides applied at once; the new upstream version is held back, so the check
    # finds the title already as upstream and overrides make it.
    assert (await check(client, pk, admin))["outcome"] == "unchanged"
    feed = (await client.get("/jamf/v1/patch/Example")).json()
    assert feed["currentVersion"] == "2.1.0"
    assert [p["version"] for p in feed["patches"]] == ["2.1.0", "2.0.1"]
    layers = (await client.get(f"/api/v1/subscriptions/{pk}/document", headers=admin)).json()
    assert layers["upstream"]["currentVersion"] == "2.2.0"
    assert layers["served"]["currentVersion"] == "2.1.0"
    assert layers["diff"]["versions"]["removed"] == ["2.2.0", "1.9.7"]
    assert layers["overrides"] == overrides

    assert (await client.post(f"/api/v1/subscriptions/{pk}/detach", headers=admin)).json()[
        "attached"
    ] is False
    answer = await client.post(f"/api/v1/subscriptions/{pk}/check", headers=admin)
    done = await finished(client, answer.json(), admin)
    assert done["status"] == "failed"
    assert done["errors"][0]["code"] == "subscription_detached"
    answer = await client.post(f"/api/v1/subscriptions/{pk}/attach", headers=admin)
    assert answer.json()["attached"] is True

    listed = (await client.get("/api/v1/subscriptions", headers=admin)).json()["items"]
    assert [s["id"] for s in listed] == [pk]
    assert (await client.delete(f"/api/v1/subscriptions/{pk}", headers=admin)).status_code == 204
    assert (await client.get("/jamf/v1/patch/Example")).status_code == 200  # stays, local


async def test_a_failing_upstream_is_shown(
    client: httpx.AsyncClient, admin: dict[str, str], upstream: Upstream
) -> None:
    url = upstream.serve("/patch/Example", fixture_json("definition.json"))
    pk = (await client.post("/api/v1/subscriptions", json={"url": url}, headers=admin)).json()["id"]
    await until(client, f"/api/v1/subscriptions/{pk}", admin, lambda s: s["lastSuccessAt"])
    upstream.serve("/patch/Example", b"{not json")
    report = await check(client, pk, admin)
    assert report["outcome"] == "failed"
    assert "did not answer JSON" in report["error"]
    failing = (await client.get("/api/v1/subscriptions?failing=true", headers=admin)).json()
    assert failing["items"][0]["failures"] == 1
    assert "did not answer JSON" in failing["items"][0]["lastError"]
    assert (await client.get("/jamf/v1/patch/Example")).json()["currentVersion"] == "2.1.0"


async def test_bulk_subscribe_to_another_source(
    client: httpx.AsyncClient, admin: dict[str, str], upstream: Upstream
) -> None:
    other = {**fixture_json("definition.json"), "id": "Other", "name": "Other"}
    upstream.serve("/jamf/v1/software", [{"id": "Example"}, {"id": "Other"}])
    upstream.serve("/jamf/v1/patch/Example", fixture_json("definition.json"))
    upstream.serve("/jamf/v1/patch/Other", other)
    answer = await client.post(
        "/api/v1/subscriptions/bulk",
        json={"url": upstream.base + "/jamf/v1", "every": 600},
        headers=admin,
    )
    assert answer.status_code == 202, answer.text
    done = await finished(client, answer.json(), admin)
    assert done["status"] == "succeeded", done
    assert [c["titleId"] for c in done["result"]["created"]] == ["Example", "Other"]
    items = (await client.get("/api/v1/subscriptions", headers=admin)).json()["items"]
    assert {s["every"] for s in items} == {600}
    for sub in items:
        assert (await check(client, sub["id"], admin))["outcome"] in ("created", "unchanged")
    assert (await client.get("/jamf/v1/patch/Other")).status_code == 200


async def test_refusals_list_every_problem(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], upstream: Upstream
) -> None:
    answer = await client.post(
        "/api/v1/subscriptions",
        json={"url": upstream.base + "/x", "kind": "page", "options": {"pattern": "none"}},
        headers=admin,
    )
    assert answer.status_code == 422
    paths = {e["path"] for e in answer.json()["errors"]}
    assert paths == {"/titleId", "/options/pattern"}
    answer = await client.post(
        "/api/v1/subscriptions", json={"url": "http://169.254.169.254/patch/X"}, headers=admin
    )
    assert answer.status_code == 422
    assert "fetch_allowed_networks" in answer.text
    reader = await make_token(app, "reader", "titles:read")
    answer = await client.post(
        "/api/v1/subscriptions", json={"url": upstream.base + "/patch/X"}, headers=reader
    )
    assert answer.status_code == 403
    assert (await client.get("/api/v1/subscriptions/99", headers=reader)).status_code == 404
    sources = (await client.get("/api/v1/subscriptions/sources", headers=reader)).json()
    assert {s["name"] for s in sources["items"]} >= {"github", "sparkle", "redirect"}


async def test_a_publisher_cannot_subscribe_another_namespace_s_title(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], upstream: Upstream
) -> None:
    made = await client.post(
        "/api/v1/namespaces", json={"slug": "acme", "displayName": "Acme"}, headers=admin
    )
    assert made.status_code == 201, made.text
    made = await client.post("/api/v1/titles", json=fixture_json("definition.json"), headers=admin)
    assert made.status_code == 201, made.text  # Example, in the default namespace
    _, secret = await app.state.services.tokens.create(
        "acme", ["titles:write"], namespaces=["acme"]
    )
    publisher = {"Authorization": f"Bearer {secret}"}
    url = upstream.serve("/patch/Example", fixture_json("definition.json"))
    answer = await client.post("/api/v1/subscriptions", json={"url": url}, headers=publisher)
    assert answer.status_code == 403, answer.text
    assert answer.json()["errors"][0]["code"] == "namespace_forbidden"
    assert (await client.get("/api/v1/subscriptions", headers=admin)).json()["items"] == []
