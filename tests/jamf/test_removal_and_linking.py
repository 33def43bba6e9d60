"""Deleting packages from Jamf Pro (refused while used, dry run, forced), registering Pomona with
`connect` (a plan first, idempotent) and undoing it, and the push rules."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from pomona.app import create_app
from pomona.settings import Settings
from tests.conftest import make_token
from tests.jamf.conftest import Pomona, jamf_settings, payload

REMOVALS = "/api/v1/jamf/connections/prod/removals"


async def test_removal_is_refused_while_used_and_forced_or_dry_run(pomona: Pomona) -> None:
    state = pomona.jamf.state
    await pomona.connection()
    await pomona.package("Used.pkg", payload(100_000, seed=7))
    assert (await pomona.push("Used.pkg"))["status"] == "succeeded"
    package_id = int(state.by_name("Used.pkg")["id"])  # type: ignore[index]
    state.policies[50] = {"name": "Install Used", "packages": [package_id]}
    state.patch_titles.append(
        {"id": "7", "displayName": "Used", "packages": [{"packageId": str(package_id)}]}
    )
    refused = await pomona.job(REMOVALS, {"filename": "Used.pkg", "record": True})
    assert refused["status"] == "failed"
    assert refused["errorStatus"] == 409
    messages = " ".join(e["message"] for e in refused["errors"])
    assert "policy 'Install Used' (id 50)" in messages
    assert "patch title 'Used' (id 7)" in messages
    dry = await pomona.job(
        REMOVALS, {"filename": "Used.pkg", "record": True, "force": True, "dryRun": True}
    )
    assert dry["result"]["file"] == "would delete"
    assert dry["result"]["record"] == "would delete"
    assert [f["fileName"] for f in state.jcds_files()] == ["Used.pkg"]
    file_only = await pomona.job(REMOVALS, {"filename": "Used.pkg", "force": True})
    assert (file_only["result"]["file"], file_only["result"]["record"]) == ("deleted", "kept")
    assert state.jcds_files() == []
    assert state.by_name("Used.pkg") is not None
    state.policies.clear()
    state.patch_titles.clear()
    both = await pomona.job(REMOVALS, {"filename": "Used.pkg", "record": True})
    assert (both["result"]["file"], both["result"]["record"]) == ("absent", "deleted")
    assert state.by_name("Used.pkg") is None
    audit = (
        await pomona.client.get("/api/v1/audit?action=jamf.package.*", headers=pomona.admin)
    ).json()
    assert len(audit["items"]) == 2


async def test_connect_shows_a_plan_is_idempotent_and_disconnect_undoes_it(
    pomona: Pomona, tmp_path: Path
) -> None:
    await pomona.connection()
    unset = await pomona.job("/api/v1/jamf/connections/prod/connect", {})
    assert unset["errors"][0]["code"] == "public_url_unset"

    settings = jamf_settings(
        pomona.jamf, tmp_path / "other", public_url="https://pomona.example.com"
    )
    app: FastAPI = create_app(Settings(**settings))
    async with app.router.lifespan_context(app):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        other = Pomona(app, client, await make_token(app, "admin", "admin"), pomona.jamf)
        await other.connection()
        connect = "/api/v1/jamf/connections/prod/connect"
        options = {"distributionPoint": True, "webhookUrl": "https://pomona.example.com/hooks/jamf"}
        plan = await other.job(connect, {**options, "dryRun": True})
        assert [s["action"] for s in plan["result"]["plan"]] == ["create"] * 3
        assert all(not rows for rows in pomona.jamf.state.classic.values())
        done = await other.job(connect, options)
        assert done["status"] == "succeeded", done
        sources = pomona.jamf.state.classic["patchexternalsources"]
        assert list(sources.values()) == [
            {
                "name": "Pomona",
                "host_name": "pomona.example.com/jamf/v1",
                "ssl_enabled": "true",
                "port": "443",
            }
        ]
        again = await other.job(connect, options)
        assert [s["action"] for s in again["result"]["plan"]] == ["keep"] * 3
        next(iter(sources.values()))["port"] = "8443"  # changed in the Jamf Pro console
        mended = await other.job(connect, options)
        assert [s["action"] for s in mended["result"]["plan"]] == ["update", "keep", "keep"]
        undone = await other.job("/api/v1/jamf/connections/prod/disconnect", {})
        assert len(undone["result"]["plan"]) == 3
        assert all(not rows for rows in pomona.jamf.state.classic.values())
        await client.aclose()


async def test_rules_push_tagged_packages_once(pomona: Pomona) -> None:
    await pomona.connection()
    await pomona.package("Tagged.pkg", payload(100_000, seed=8))
    await pomona.package("Other.pkg", payload(100_000, seed=9))
    tagged = await pomona.client.patch(
        "/api/v1/packages/Tagged.pkg", json={"tags": ["prod"]}, headers=pomona.admin
    )
    assert tagged.status_code == 200
    rule = {"tag": "prod", "connection": "prod"}
    created = await pomona.client.post("/api/v1/jamf/rules", json=rule, headers=pomona.admin)
    assert created.status_code == 201, created.text
    applied = await pomona.client.post("/api/v1/jamf/rules/apply", headers=pomona.admin)
    [push_id] = applied.json()["pushes"]
    push = await pomona.until_done(f"/api/v1/jamf/pushes/{push_id}")
    assert (push["status"], push["rule"], push["filename"]) == ("succeeded", "prod", "Tagged.pkg")
    again = await pomona.client.post("/api/v1/jamf/rules/apply", headers=pomona.admin)
    assert again.json()["pushes"] == []
    gone = await pomona.client.delete("/api/v1/jamf/rules/prod/prod", headers=pomona.admin)
    assert gone.status_code == 204
