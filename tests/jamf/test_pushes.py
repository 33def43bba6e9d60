"""Pushes to the Jamf Pro simulator through the API, run by the app's embedded queue."""

from __future__ import annotations

import hashlib

import pytest

from tests.jamf.conftest import MiB, Pomona, payload


def _record(pomona: Pomona, name: str) -> dict[str, object]:
    found = pomona.jamf.state.by_name(name)
    assert found is not None
    return found


async def test_a_push_with_expiring_tokens_and_credentials_completes_and_verifies(
    pomona: Pomona,
) -> None:
    state = pomona.jamf.state
    state.token_seconds = 2
    state.credential_seconds = 2
    state.guard.part_delay = 0.6  # so the upload outlives several tokens and credentials
    data = payload(23 * MiB, seed=1)
    await pomona.package("Big.pkg", data)
    await pomona.connection()
    push = await pomona.push("Big.pkg")
    assert push["status"] == "succeeded", push
    assert push["method"] == "multipart"
    assert push["step"] == "done"
    assert push["bytesSent"] == len(data)
    listed = {f["fileName"]: f for f in state.jcds_files()}
    assert listed["Big.pkg"]["length"] == len(data)
    assert listed["Big.pkg"]["md5"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    record = _record(pomona, "Big.pkg")
    assert record["fileName"] == "Big.pkg"
    assert record["hashType"] == "SHA_512"
    assert record["hashValue"] == hashlib.sha512(data).hexdigest()
    assert state.refreshes >= 1
    assert state.credentials_issued >= 2, state  # renewed while the upload ran
    assert state.tokens_issued > 1, state
    assert state.guard.resent() == 0, state.guard.parts
    job = (await pomona.client.get(push["jobUrl"], headers=pomona.admin)).json()
    assert job["result"]["credentialRenewals"] >= 1

    again = await pomona.push("Big.pkg")
    assert again["status"] == "succeeded"
    assert again["method"] == "skip"  # the same bytes are there: nothing sent
    assert sum(state.guard.parts.values()) == 5


async def test_a_mismatch_left_by_another_tool_is_repaired(pomona: Pomona) -> None:
    state = pomona.jamf.state
    data = payload(12 * MiB, seed=2)
    state.add_package(packageName="App.pkg", fileName="Old.pkg", hashType="MD5", hashValue="00")
    state.put_file("App.pkg", payload(3 * MiB, seed=3))  # other bytes under the name
    await pomona.package("App.pkg", data)
    await pomona.connection(hashType="MD5")
    push = await pomona.push("App.pkg")
    assert push["status"] == "succeeded", push
    record = _record(pomona, "App.pkg")
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert (record["fileName"], record["hashType"], record["hashValue"]) == ("App.pkg", "MD5", md5)
    assert [(f["fileName"], f["md5"]) for f in state.jcds_files()] == [("App.pkg", md5)]
    assert len(state.packages) == 1  # the record was found and fixed, not duplicated


async def test_small_files_and_servers_without_jcds2_use_the_upload_endpoint(
    pomona: Pomona,
) -> None:
    await pomona.connection()
    await pomona.package("Small.pkg", payload(200_000, seed=4))
    push = await pomona.push("Small.pkg")
    assert (push["status"], push["method"]) == ("succeeded", "upload")
    pomona.jamf.state.jcds2 = False
    await pomona.package("Big.dmg", payload(6 * MiB, seed=5))
    push = await pomona.push("Big.dmg")
    assert (push["status"], push["method"]) == ("succeeded", "upload")
    assert (
        _record(pomona, "Big.dmg")["hashValue"]
        == hashlib.sha512(payload(6 * MiB, seed=5)).hexdigest()
    )


async def test_a_push_that_cannot_be_verified_fails_and_says_why(pomona: Pomona) -> None:
    await pomona.connection()
    await pomona.package("Lost.pkg", payload(300_000, seed=6))
    pomona.jamf.state.lose_uploads = True  # answers 201, keeps nothing
    push = await pomona.push("Lost.pkg")
    assert push["status"] == "failed"
    assert push["step"] == "verify"
    job = (await pomona.client.get(push["jobUrl"], headers=pomona.admin)).json()
    assert job["errorStatus"] == 422
    assert {e["code"] for e in job["errors"]} == {"jamf_push_unverified"}
    assert "could not be verified" in job["errors"][0]["message"]


@pytest.mark.slow
async def test_a_large_push_renews_everything_many_times_and_verifies(pomona: Pomona) -> None:
    state = pomona.jamf.state
    state.token_seconds = 2
    state.credential_seconds = 2
    data = payload(160 * MiB, seed=12)
    await pomona.package("Large.pkg", data)
    await pomona.connection()
    pomona_settings = pomona.app.state.services.settings
    assert pomona_settings.jamf_part_mib == 5  # 32 parts
    push = await pomona.push("Large.pkg")
    assert push["status"] == "succeeded", push
    listed = {f["fileName"]: f for f in state.jcds_files()}
    assert listed["Large.pkg"]["md5"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert _record(pomona, "Large.pkg")["hashValue"] == hashlib.sha512(data).hexdigest()
    assert len(state.guard.parts) == 32
    assert state.guard.resent() == 0
    assert state.credentials_issued >= 2, state.credentials_issued  # renewed on the way
