"""Resumable uploads across processes: the lease keeps pieces of one upload from interleaving,
and everything needed to continue an upload is in the database and the shared data directory.

Services on every engine first (two package stores on one database, as two processes have),
then two real ``pomona serve`` processes on one database and one data directory, with PATCH
requests alternating between them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import make_url

from pomona.audit.service import Who
from pomona.auth.scopes import Principal
from pomona.db import Database, utcnow
from pomona.errors import Conflict
from pomona.migrations import upgrade
from pomona.packages.models import PackageUpload
from pomona.packages.service import PackageService
from pomona.settings import Settings
from tests.conftest import SERVER_URLS, Server, serving, unavailable
from tests.packages.conftest import payload

MiB = 1024 * 1024
WHO = Who("token:t")
CALLER = Principal("token:t", frozenset({"packages:write"}))


@pytest.fixture
async def stores(database_url: str, tmp_path: Path) -> AsyncIterator[list[PackageService]]:
    """Two package stores on one database and one data directory, as two processes have."""
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url)
    databases = [Database(database_url), Database(database_url)]
    await upgrade(databases[0])
    try:
        yield [PackageService.build(db, settings) for db in databases]
    finally:
        for db in databases:
            await db.dispose()


async def pieces(data: bytes, started: asyncio.Event, go_on: asyncio.Event) -> AsyncIterator[bytes]:
    """A request body that sends half, then waits to be let go on."""
    yield data[: len(data) // 2]
    started.set()
    await go_on.wait()
    yield data[len(data) // 2 :]


async def once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_pieces_on_two_stores_never_interleave(stores: list[PackageService]) -> None:
    first, second = (store.uploads for store in stores)
    data = payload(3 * MiB + 5, seed=60)
    created = await first.create_upload("two.pkg", len(data), metadata="", who=WHO)
    upload_id = created.upload_id
    started, go_on = asyncio.Event(), asyncio.Event()
    writing = asyncio.create_task(
        first.append(upload_id, 0, pieces(data[:MiB], started, go_on), who=WHO, caller=CALLER)
    )
    await started.wait()
    # The other store's piece at the same offset waits for the lease, then finds the offset
    # moved; its HEAD waits too, and tells the offset the first piece reached.
    rival = asyncio.create_task(
        second.append(upload_id, 0, once(data[:MiB]), who=WHO, caller=CALLER)
    )
    asked = asyncio.create_task(second.upload_state(upload_id, caller=CALLER))
    await asyncio.sleep(0.3)
    assert not rival.done()
    assert not asked.done()
    go_on.set()
    assert (await writing).offset == MiB
    with pytest.raises(Conflict) as refused:
        await rival
    assert refused.value.code == "upload_offset_mismatch"
    assert (await asked).offset == MiB

    # Alternating stores: each continues from the database and the partial file.
    offset = MiB
    for index, uploads in enumerate([second, first, second]):
        piece = data[offset : offset + MiB + 1] if index < 2 else data[offset:]
        state = await uploads.append(upload_id, offset, once(piece), who=WHO, caller=CALLER)
        offset += len(piece)
        assert state.offset == offset
    assert state.published is not None
    assert state.published.package.sha256 == hashlib.sha256(data).hexdigest()
    assert state.published.package.md5 == hashlib.md5(data, usedforsecurity=False).hexdigest()
    _, chunks = await stores[1].catalog.manifest("two.pkg")
    assert chunks == [
        hashlib.sha256(data[i : i + MiB]).hexdigest() for i in range(0, len(data), MiB)
    ]
    assert list(first.directory.iterdir()) == []


async def test_a_lease_left_by_a_dead_holder_runs_out(stores: list[PackageService]) -> None:
    uploads = stores[0].uploads
    created = await uploads.create_upload("dead.pkg", 10, metadata="", who=WHO)
    held = update(PackageUpload).where(PackageUpload.upload_id == created.upload_id)
    async with uploads.db.transaction() as session:
        await session.execute(
            held.values(lease_holder="0" * 32, lease_expires=utcnow() + timedelta(minutes=5))
        )
    with pytest.raises(Conflict) as busy:
        await uploads.leases.claim(created.upload_id, wait=0.2)
    assert busy.value.code == "upload_busy"
    async with uploads.db.transaction() as session:
        await session.execute(held.values(lease_expires=utcnow() - timedelta(seconds=1)))
    state = await stores[1].uploads.append(
        created.upload_id, 0, once(b"0123456789"), who=WHO, caller=CALLER
    )
    assert state.published is not None


# -- two real processes --------------------------------------------------------------------------


@contextlib.contextmanager
def shared_database(engine: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The ``POMONA_*`` variables of a database both servers use: SQLite in the shared data
    directory, or a PostgreSQL database of this test's own, dropped afterwards."""
    if engine == "sqlite":
        yield {}
        return
    server = make_url(SERVER_URLS[engine])
    name = f"pomona_leases_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
    except Exception:
        admin.dispose()
        unavailable(f"{engine} at {server.render_as_string()}")
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        yield {"POMONA_DATABASE_URL": url}
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def two_servers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[Server]]:
    """Two ``pomona serve`` processes on one database and one data directory."""
    shared = {"POMONA_DATA_DIR": str(tmp_path / "shared-data")}
    with shared_database(request.param, tmp_path) as database, contextlib.ExitStack() as stack:
        servers = []
        for name in ("a", "b"):  # one after the other: the first migrates the database
            (tmp_path / name).mkdir()
            servers.append(stack.enter_context(serving(tmp_path / name, **shared, **database)))
        yield servers


def _patch(
    url: str, auth: dict[str, str], offset: int, body: bytes | Iterator[bytes]
) -> httpx.Response:
    headers = {
        **auth,
        "Tus-Resumable": "1.0.0",
        "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": str(offset),
    }
    if isinstance(body, bytes):
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        headers["Upload-Checksum"] = f"sha256 {digest}"
    return httpx.patch(url, content=body, headers=headers, timeout=60)


def _slowly(data: bytes, started: threading.Event) -> Iterator[bytes]:
    """``data`` in pieces, taking about a second."""
    step = len(data) // 8
    for start in range(0, len(data), step):
        yield data[start : start + step]
        started.set()
        time.sleep(0.12)


@pytest.mark.slow
def test_pieces_alternate_between_two_servers(two_servers: list[Server], tmp_path: Path) -> None:
    one, two = two_servers
    made = one.pomona("token", "create", "--name", "bb", "--scope", "packages:write")
    assert made.returncode == 0, made.stderr
    auth = {"Authorization": f"Bearer {made.stdout.strip()}"}
    data = payload(6 * MiB + 321, seed=61)
    created = httpx.post(
        f"{one.url}/api/v1/uploads/",
        headers={
            **auth,
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(data)),
            "Upload-Metadata": "filename " + base64.b64encode(b"Shared 1.0.pkg").decode(),
        },
    )
    assert created.status_code == 201, created.text
    path = httpx.URL(created.headers["location"]).path
    urls = [f"{one.url}{path}", f"{two.url}{path}"]

    # Two PATCHes at one offset, one to each server, at the same time: one appends, the other
    # waits for it and is refused; the bytes never interleave.
    first = data[: 2 * MiB]
    started = threading.Event()
    answers: dict[str, httpx.Response] = {}
    slow = threading.Thread(
        target=lambda: answers.update(slow=_patch(urls[0], auth, 0, _slowly(first, started)))
    )
    slow.start()
    assert started.wait(30)
    time.sleep(0.3)  # well inside the slow PATCH, which holds the lease by now
    rival = _patch(urls[1], auth, 0, first)
    slow.join(60)
    assert answers["slow"].status_code == 204, answers["slow"].text
    assert rival.status_code == 409, rival.text
    assert rival.json()["errors"][0]["code"] == "upload_offset_mismatch"

    offset, turn = len(first), 1
    while offset < len(data):
        # The other server reports where the upload stands, then takes the next piece.
        head = httpx.head(urls[turn], headers={**auth, "Tus-Resumable": "1.0.0"})
        assert head.status_code == 200
        assert head.headers["upload-offset"] == str(offset)
        piece = data[offset : offset + MiB + 7]
        answer = _patch(urls[turn], auth, offset, piece)
        assert answer.status_code == 204, answer.text
        offset += len(piece)
        assert answer.headers["upload-offset"] == str(offset)
        turn = 1 - turn
    sha256 = hashlib.sha256(data).hexdigest()
    assert answer.headers["pomona-package-sha256"] == sha256

    for server in (one, two):
        got = httpx.get(f"{server.url}/Packages/Shared%201.0.pkg", timeout=60)
        assert got.status_code == 200
        assert hashlib.sha256(got.content).hexdigest() == sha256
        assert got.headers["etag"] == f'"{sha256}"'
        record = httpx.get(f"{server.url}/api/v1/packages/Shared%201.0.pkg", headers=auth).json()
        assert record["sha512"] == hashlib.sha512(data).hexdigest()
        assert httpx.head(urls[0], headers={**auth, "Tus-Resumable": "1.0.0"}).status_code == 404
    assert list((tmp_path / "shared-data" / "uploads").iterdir()) == []
