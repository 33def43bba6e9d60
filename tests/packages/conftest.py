"""Fixtures of the package store tests: an S3 server (moto) on loopback, storages, payloads."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pomona.app import create_app
from pomona.packages.storage import LocalStorage, S3Storage, Storage
from pomona.settings import Settings
from tests.conftest import free_port, make_token, unavailable

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
MiB = 1024 * 1024
TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server, a real HTTP server, on a free loopback port."""
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=log,
            env={**os.environ, **CREDENTIALS},
        )
    except OSError:
        unavailable("moto's S3 server")
        raise
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                unavailable("moto's S3 server")
            time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def new_bucket(endpoint: str) -> str:
    import boto3

    bucket = f"pomona-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    return new_bucket(s3_endpoint)


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "store")
    endpoint = request.getfixturevalue("s3_endpoint")
    return S3Storage(
        new_bucket(endpoint),
        prefix="pfx/",
        endpoint_url=endpoint,
        region="us-east-1",
        access_key_id="testing",
        secret_access_key="testing",
    )


def payload(size: int, seed: int = 0) -> bytes:
    """Deterministic, incompressible-looking bytes."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha512(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


@pytest.fixture
async def build(tmp_path: Path) -> AsyncIterator[Any]:
    stack: list[tuple[FastAPI, Any]] = []

    async def make(**overrides: Any) -> tuple[FastAPI, httpx.AsyncClient, dict[str, str]]:
        settings = Settings(data_dir=tmp_path / f"data{len(stack)}", **overrides)
        app = create_app(settings)
        context = app.router.lifespan_context(app)
        await context.__aenter__()
        stack.append((app, context))
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        return app, client, await make_token(app, "admin", "admin")

    yield make
    for _app, context in reversed(stack):
        await context.__aexit__(None, None, None)


async def until_published(client: httpx.AsyncClient, name: str, admin: dict[str, str]) -> Any:
    """The record of a package published by the finalise task, once it appears."""
    deadline = time.monotonic() + 30
    while True:
        answer = await client.get(f"/api/v1/packages/{name}", headers=admin)
        if answer.status_code == 200:
            return answer.json()
        assert time.monotonic() < deadline, "the finalise task did not publish the package"
        await asyncio.sleep(0.1)


def s3_settings(endpoint: str, bucket: str, **extra: Any) -> dict[str, Any]:
    """Settings of a store in ``bucket`` on the S3 server at ``endpoint``."""
    return {
        "package_storage": "s3",
        "s3_bucket": bucket,
        "s3_endpoint_url": endpoint,
        "s3_region": "us-east-1",
        "s3_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "s3_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        **extra,
    }


async def put(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, data: bytes, **params: str
) -> httpx.Response:
    return await client.put(
        f"/api/v1/packages/{name}", content=data, headers=headers, params=params
    )


def tus_metadata(**values: str) -> str:
    """An ``Upload-Metadata`` header."""
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())
