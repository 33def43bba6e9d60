"""Connections on every engine: secrets sealed at rest and never answered, every write audited
with its event; and `check` against the simulator."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from pomona.events.models import Event
from pomona.jamf.models import JamfConnection
from pomona.settings import Settings
from tests.jamf.conftest import Pomona


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        fetch_allowed_networks=["127.0.0.0/8"],
        secret_key="a test key that is long enough",
    )


async def test_connections_keep_secrets_sealed_and_audit_every_write(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {
        "name": "prod",
        "url": "http://127.0.0.1:9/",
        "username": "jamfadmin",
        "password": "s3cret-password",
    }
    created = await client.post("/api/v1/jamf/connections", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["url"] == "http://127.0.0.1:9"
    assert created.json()["auth"] == "user"
    assert "s3cret-password" not in created.text
    again = await client.post("/api/v1/jamf/connections", json=body, headers=admin)
    assert again.status_code == 409
    both = {**body, "name": "x", "clientId": "a", "clientSecret": "b"}
    refused = await client.post("/api/v1/jamf/connections", json=both, headers=admin)
    assert refused.status_code == 422
    bad = {**body, "name": "Bad Name", "url": "ftp://x"}
    refused = await client.post("/api/v1/jamf/connections", json=bad, headers=admin)
    assert refused.status_code == 422
    assert {e["path"] for e in refused.json()["errors"]} == {"/name", "/url"}
    private = {**body, "name": "lan", "url": "http://10.1.2.3"}
    refused = await client.post("/api/v1/jamf/connections", json=private, headers=admin)
    assert refused.status_code == 422
    assert "fetch_allowed_networks" in refused.text

    edit = {"clientId": "api-client", "clientSecret": "other-secret"}
    edited = await client.patch("/api/v1/jamf/connections/prod", json=edit, headers=admin)
    assert edited.status_code == 200, edited.text
    assert (edited.json()["auth"], edited.json()["clientId"]) == ("client", "api-client")
    listed = await client.get("/api/v1/jamf/connections", headers=admin)
    assert [c["name"] for c in listed.json()["items"]] == ["prod"]
    assert "secret" not in listed.text

    services = app.state.services
    async with services.db.sessions() as session:
        row = await session.scalar(select(JamfConnection))
        assert row is not None
        assert "other-secret" not in row.secret
        types = [e.type for e in await session.scalars(select(Event).order_by(Event.pk))]
    assert services.jamf.connections.box.open(row.secret) == "other-secret"
    assert types == ["jamf.connection_created", "jamf.connection_updated"]
    assert (await client.delete("/api/v1/jamf/connections/prod", headers=admin)).status_code == 204
    assert (await client.get("/api/v1/jamf/connections/prod", headers=admin)).status_code == 404
    audit = (await client.get("/api/v1/audit?action=jamf.*", headers=admin)).json()
    assert [e["action"] for e in audit["items"]] == [
        "jamf.connection.delete",
        "jamf.connection.update",
        "jamf.connection.create",
    ]


async def test_a_changed_key_is_said_plainly(tmp_path: Path) -> None:
    from pomona.jamf.secret_box import SecretBox

    sealed = SecretBox(Settings(data_dir=tmp_path)).seal("x")
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert SecretBox(Settings(data_dir=tmp_path)).open(sealed) == "x"
    with pytest.raises(Exception, match="secret_key"):
        SecretBox(Settings(data_dir=tmp_path, secret_key="another")).open(sealed)


async def test_check_shows_the_version_and_missing_privileges(pomona: Pomona) -> None:
    await pomona.connection()
    state = pomona.jamf.state
    job = await pomona.job("/api/v1/jamf/connections/prod/check")
    assert job["status"] == "succeeded", job
    assert job["result"]["version"] == state.version
    assert all(f["missing"] == [] for f in job["result"]["features"])
    state.privileges = {"packages:read", "packages:create", "packages:update", "jcds:read"}
    job = await pomona.job("/api/v1/jamf/connections/prod/check")
    missing = {f["feature"]: f["missing"] for f in job["result"]["features"]}
    assert missing["push"] == [
        "Create Jamf Content Distribution Server Files",
        "Delete Jamf Content Distribution Server Files",
    ]
    assert "Read Policies" in missing["remove"]


async def test_wrong_credentials_fail_the_job_with_what_to_do(pomona: Pomona) -> None:
    await pomona.connection(clientSecret="wrong")
    job = await pomona.job("/api/v1/jamf/connections/prod/check")
    assert job["status"] == "failed"
    assert job["errors"][0]["code"] == "jamf_auth_failed"


async def test_user_and_password_connections_work_too(pomona: Pomona) -> None:
    body = {
        "name": "u",
        "url": pomona.jamf.url,
        "username": "jamfadmin",
        "password": "jamf-password",
    }
    answer = await pomona.client.post("/api/v1/jamf/connections", json=body, headers=pomona.admin)
    assert answer.status_code == 201
    job = await pomona.job("/api/v1/jamf/connections/u/check")
    assert job["status"] == "succeeded", job
