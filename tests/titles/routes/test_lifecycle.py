"""History, diff, rollback, enable/disable and their effect on both feeds, version order."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.conftest import fixture_text
from tests.titles.routes.test_versions import TITLE, title, version  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("title")


def example(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(fixture_text("example.json"))
    document.update(changes)
    return document


async def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


async def feed(client: httpx.AsyncClient, base: str = "/jamf/v1") -> dict[str, Any]:
    software = await ok(await client.get(f"{base}/software"))
    patch = await client.get(f"{base}/patch/Example")
    return {
        "software": software,
        "patch": patch.json() if patch.status_code == 200 else patch.status_code,
    }


# -- history, diff, rollback -------------------------------------------------------------------


async def test_history_lists_every_write_with_a_summary(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await ok(
        await client.put(
            TITLE, json=example(name="Renamed"), headers=admin, params={"reason": "rebrand"}
        )
    )
    await ok(await client.post(f"{TITLE}/versions", json=version("3.0"), headers=admin), 201)
    body = await ok(await client.get(f"{TITLE}/history", headers=admin))
    assert body["total"] == 3
    newest, replaced, created = body["items"]
    assert [r["number"] for r in body["items"]] == [3, 2, 1]
    assert newest["action"] == "add-version"
    assert "3.0" in newest["summary"]
    assert replaced["action"] == "replace"
    assert replaced["reason"] == "rebrand"
    assert "changed name" in replaced["summary"]
    assert created["actor"] == "token:admin"
    one = await ok(await client.get(f"{TITLE}/history/2", headers=admin))
    assert one["definition"]["name"] == "Renamed"
    assert one["enabled"] is True


async def test_diff_is_per_field_and_per_version(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await ok(
        await client.put(
            f"{TITLE}/versions/2.0.1", json=version("2.0.1", reboot=True), headers=admin
        )
    )
    await ok(await client.delete(f"{TITLE}/versions/1.9.7", headers=admin))
    changes = (
        await ok(await client.get(f"{TITLE}/diff", params={"from": 1, "to": 3}, headers=admin))
    )["changes"]
    assert changes["versions"]["removed"] == ["1.9.7"]
    [changed] = changes["versions"]["changed"]
    assert changed["version"] == "2.0.1"
    assert {"field": "reboot", "from": False, "to": True} in changed["fields"]
    assert "~ version 2.0.1 reboot: false -> true" in changes["lines"]
    assert "- version 1.9.7" in changes["lines"]


async def test_rollback_makes_a_new_revision_and_brings_back_a_deleted_title(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await ok(await client.put(TITLE, json=example(name="Wrong"), headers=admin))
    back = await ok(await client.post(f"{TITLE}/rollback", params={"revision": 1}, headers=admin))
    assert back["revision"] == 3
    assert back["definition"]["name"] == "Example"
    assert "rolled back to revision 1" in back["summary"]
    assert (await ok(await client.get("/jamf/v1/patch/Example")))["name"] == "Example"
    assert (await client.delete(TITLE, headers=admin)).status_code == 204
    assert (await client.get("/jamf/v1/patch/Example")).status_code == 404
    tombstone = await client.post(f"{TITLE}/rollback", params={"revision": 4}, headers=admin)
    assert tombstone.status_code == 409
    revived = await ok(
        await client.post(f"{TITLE}/rollback", params={"revision": 2}, headers=admin)
    )
    assert revived["revision"] == 5
    assert revived["definition"]["name"] == "Wrong"
    assert (await ok(await client.get("/jamf/v1/patch/Example")))["name"] == "Wrong"
    history = await ok(await client.get(f"{TITLE}/history", headers=admin))
    assert [r["action"] for r in history["items"]] == [
        "rollback",
        "delete",
        "rollback",
        "replace",
        "create",
    ]
    missing = await client.post(f"{TITLE}/rollback", params={"revision": 99}, headers=admin)
    assert missing.status_code == 404


async def test_a_changed_ea_script_says_jamf_pro_needs_it_accepted(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    same = await ok(await client.put(TITLE, json=example(), headers=admin))
    assert not any("accept" in w["message"] for w in same["warnings"])
    document = example()
    script = "#!/bin/sh\necho '<result>2</result>'\n"
    document["extensionAttributes"][0]["value"] = base64.b64encode(script.encode()).decode()
    changed = await ok(await client.put(TITLE, json=document, headers=admin))
    [notice] = [w for w in changed["warnings"] if "accept" in w["message"]]
    assert notice["path"] == "/extensionAttributes/0/value"
    history = await ok(await client.get(f"{TITLE}/history", headers=admin))
    assert "accept it again in Jamf Pro" in history["items"][0]["summary"]


# -- enable and disable ----------------------------------------------------------------------------


async def test_disabled_version_leaves_the_jamf_feed_but_not_the_preview_or_api(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    answer = await ok(await client.post(f"{TITLE}/versions/2.1.0/disable", headers=admin))
    assert answer["disabledVersions"] == ["2.1.0"]
    assert answer["enabled"] is True
    live = await feed(client)
    assert [p["version"] for p in live["patch"]["patches"]] == ["2.0.1", "1.9.7"]
    assert live["patch"]["currentVersion"] == "2.0.1"
    assert live["software"][0]["currentVersion"] == "2.0.1"
    assert set(live["patch"]) == set(json.loads(fixture_text("example.json")))  # no extra keys
    preview = await feed(client, "/jamf/preview/v1")
    assert preview["patch"]["currentVersion"] == "2.1.0"
    assert len(preview["patch"]["patches"]) == 3
    assert len(await ok(await client.get(f"{TITLE}/versions", headers=admin))) == 3
    await ok(await client.post(f"{TITLE}/versions/2.1.0/enable", headers=admin))
    assert (await feed(client))["patch"]["currentVersion"] == "2.1.0"


async def test_disabled_title_and_title_without_enabled_versions_leave_the_feed(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await ok(await client.post(f"{TITLE}/disable", headers=admin))
    assert await feed(client) == {"software": [], "patch": 404}
    assert (await client.get("/jamf/v1/software/Example")).json() == []
    assert (await feed(client, "/jamf/preview/v1"))["software"][0]["id"] == "Example"
    await ok(await client.post(f"{TITLE}/enable", headers=admin))
    for v in ("2.1.0", "2.0.1", "1.9.7"):
        await ok(await client.post(f"{TITLE}/versions/{v}/disable", headers=admin))
    assert await feed(client) == {"software": [], "patch": 404}
    assert (await feed(client, "/jamf/preview/v1"))["patch"]["currentVersion"] == "2.1.0"


async def test_state_is_part_of_history_and_rollback(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await ok(await client.post(f"{TITLE}/versions/2.1.0/disable", headers=admin))
    await ok(await client.post(f"{TITLE}/disable", headers=admin))
    history = await ok(await client.get(f"{TITLE}/history", headers=admin))
    assert [r["summary"] for r in history["items"][:2]] == [
        "disabled the title",
        "disabled version 2.1.0",
    ]
    back = await ok(await client.post(f"{TITLE}/rollback", params={"revision": 2}, headers=admin))
    assert back["enabled"] is True
    assert back["disabledVersions"] == ["2.1.0"]
    assert (await feed(client))["patch"]["currentVersion"] == "2.0.1"
    changes = (
        await ok(await client.get(f"{TITLE}/diff", params={"from": 1, "to": 3}, headers=admin))
    )["changes"]
    assert {c["field"] for c in changes["state"]} == {"enabled", "disabledVersions"}
    # Deleting a disabled version forgets that it was disabled.
    await ok(await client.delete(f"{TITLE}/versions/2.1.0", headers=admin))
    assert (await ok(await client.post(f"{TITLE}/versions/2.0.1/enable", headers=admin)))[
        "disabledVersions"
    ] == []


# -- order ---------------------------------------------------------------------------------------


async def test_reorder_and_sort_by_version_number(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await ok(
        await client.post(
            f"{TITLE}/versions", json=version("2.1.10"), params={"after": "1.9.7"}, headers=admin
        ),
        201,
    )
    sorted_ = await ok(await client.post(f"{TITLE}/order/sort", headers=admin))
    assert [p["version"] for p in sorted_["definition"]["patches"]] == [
        "2.1.10",
        "2.1.0",
        "2.0.1",
        "1.9.7",
    ]
    assert sorted_["definition"]["currentVersion"] == "2.1.10"
    assert sorted_["summary"] == "reordered versions"
    order = ["1.9.7", "2.0.1", "2.1.0", "2.1.10"]
    moved = await ok(await client.put(f"{TITLE}/order", json={"versions": order}, headers=admin))
    assert [p["version"] for p in moved["definition"]["patches"]] == order
    assert (await feed(client))["patch"]["currentVersion"] == "1.9.7"
    bad = await client.put(f"{TITLE}/order", json={"versions": ["1.9.7", "9.9"]}, headers=admin)
    assert bad.status_code == 422
    messages = " ".join(p["message"] for p in bad.json()["errors"])
    assert "missing versions: 2.0.1, 2.1.0, 2.1.10" in messages
    assert "'9.9'" in messages
    # A no-op writes no revision.
    before = (await ok(await client.get(f"{TITLE}/history", headers=admin)))["total"]
    await ok(await client.put(f"{TITLE}/order", json={"versions": order}, headers=admin))
    assert (await ok(await client.get(f"{TITLE}/history", headers=admin)))["total"] == before


async def test_read_token_cannot_change_state(client: httpx.AsyncClient, app: Any) -> None:
    from tests.conftest import make_token

    reader = await make_token(app, "reader", "titles:read")
    assert (await client.post(f"{TITLE}/disable", headers=reader)).status_code == 403
    assert (await client.get(f"{TITLE}/history", headers=reader)).status_code == 200
