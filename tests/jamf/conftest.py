"""Fixtures of the Jamf Pro companion's tests: the Jamf Pro simulator with its JCDS bucket, and
a Pomona app (embedded queue) set up to push to it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pomona.app import create_app
from pomona.settings import Settings
from tests.conftest import make_token
from tests.fixtures.jamf_pro_run import Simulator, running
from tests.packages.conftest import new_bucket, payload, put, s3_endpoint  # noqa: F401

MiB = 1024 * 1024


@pytest.fixture
def jamf(s3_endpoint: str) -> Iterator[Simulator]:  # noqa: F811 (the imported fixture)
    """A fresh Jamf Pro simulator with an empty JCDS bucket."""
    with running(s3_endpoint, new_bucket(s3_endpoint)) as simulator:
        yield simulator


def jamf_settings(simulator: Simulator, data_dir: Path, **extra: Any) -> dict[str, Any]:
    """Settings of a Pomona that reaches the simulator (on loopback) with small parts."""
    return {
        "data_dir": data_dir,
        "fetch_allowed_networks": ["127.0.0.0/8"],
        "jamf_s3_endpoint_url": simulator.s3_url,
        "jamf_part_mib": 5,
        "jamf_upload_streams": 2,
        "jamf_small_file_mib": 1,
        "jamf_rules_minutes": 0,
        "queue_retry_delay": 0.2,
        "package_scrub_hours": 0,
        "package_cleanup_hours": 0,
        **extra,
    }


def server_env(simulator: Simulator, streams: int = 2) -> dict[str, str]:
    """The environment of a `pomona serve` process set up as :func:`jamf_settings`."""
    return {
        "POMONA_SERVER": "uvicorn",  # one process: killing it kills its queue workers too
        "POMONA_FETCH_ALLOWED_NETWORKS": json.dumps(["127.0.0.0/8"]),
        "POMONA_JAMF_S3_ENDPOINT_URL": simulator.s3_url,
        "POMONA_JAMF_PART_MIB": "5",
        "POMONA_JAMF_UPLOAD_STREAMS": str(streams),
        "POMONA_JAMF_SMALL_FILE_MIB": "1",
        "POMONA_QUEUE_LEASE_SECONDS": "2",
        "POMONA_QUEUE_RETRY_DELAY": "0.5",
        "POMONA_PACKAGE_SCRUB_HOURS": "0",
        "POMONA_PACKAGE_CLEANUP_HOURS": "0",
    }


@dataclass
class Pomona:
    app: FastAPI
    client: httpx.AsyncClient
    admin: dict[str, str]
    jamf: Simulator

    async def package(self, name: str, data: bytes) -> None:
        answer = await put(self.client, self.admin, name, data)
        assert answer.status_code == 201, answer.text

    async def connection(self, name: str = "prod", **extra: Any) -> dict[str, Any]:
        body = {
            "name": name,
            "url": self.jamf.url,
            "clientId": "pomona-client",
            "clientSecret": "client-secret",
            **extra,
        }
        answer = await self.client.post("/api/v1/jamf/connections", json=body, headers=self.admin)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    async def push(self, filename: str, connection: str = "prod") -> dict[str, Any]:
        """Start a push and wait for it to end; the push."""
        answer = await self.client.post(
            "/api/v1/jamf/pushes",
            json={"filename": filename, "connection": connection},
            headers=self.admin,
        )
        assert answer.status_code == 202, answer.text
        return await self.until_done(answer.json()["url"])

    async def until_done(self, url: str, seconds: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            found = (await self.client.get(url, headers=self.admin)).json()
            if found["status"] in ("succeeded", "failed"):
                return dict(found)
            assert time.monotonic() < deadline, f"not finished: {found}"
            await asyncio.sleep(0.1)

    async def job(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST a route that starts a job; the job once finished."""
        answer = await self.client.post(path, json=body, headers=self.admin)
        assert answer.status_code == 202, answer.text
        return await self.until_done(answer.json()["url"])


@pytest.fixture
async def pomona(jamf: Simulator, tmp_path: Path) -> AsyncIterator[Pomona]:
    app = create_app(Settings(**jamf_settings(jamf, tmp_path / "data")))
    async with app.router.lifespan_context(app):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        async with client:
            yield Pomona(app, client, await make_token(app, "admin", "admin"), jamf)


__all__ = ["MiB", "Pomona", "jamf_settings", "payload", "server_env"]
