"""Shared fixtures: a database on every engine, an app built from its own settings, clients.

Database-facing tests run once per engine: SQLite (always), PostgreSQL and MariaDB at the URLs
in POMONA_TEST_POSTGRES_URL / POMONA_TEST_MYSQL_URL (default: the local servers on their usual
ports). Where a server is not reachable the test is skipped on a developer's machine and fails
in CI (CI=true), so CI can never pass by skipping.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, delete, inspect, text, update
from sqlalchemy.engine import URL, make_url

from pomona.app import create_app
from pomona.models import metadata
from pomona.settings import Settings
from pomona.titles.models import FeedState
from tests.fixtures.slapd import slapd  # noqa: F401 (the LDAP tests' one directory server)

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
FIXTURES = Path(__file__).parent / "fixtures"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"

SERVER_URLS = {
    "postgresql": os.environ.get(
        "POMONA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get("POMONA_TEST_MYSQL_URL", "mysql+aiomysql://root@127.0.0.1:3306/test"),
}
# The same databases through synchronous drivers, for setting up and cleaning between tests.
_SYNC_DRIVERS = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql", "sqlite": "sqlite"}


def unavailable(what: str) -> None:
    """Skip on a developer's machine, fail in CI: a missing service must never pass CI."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available")
    pytest.skip(f"{what} is not available")


def _reachable(url: str) -> bool:
    parsed = make_url(url)
    try:
        with socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 0), timeout=1):
            return True
    except OSError:
        return False


def _sync_url(url: str | URL) -> str:
    parsed = make_url(url)
    return parsed.set(drivername=_SYNC_DRIVERS[parsed.get_backend_name()]).render_as_string(
        hide_password=False
    )


_created: dict[str, str] = {}  # engine -> URL of this run's own database


def _server_database(engine: str) -> str:
    """A database of this test run's own on the engine's server, created on first use.

    Each run gets a fresh, uniquely named database, so concurrent runs on one server (two
    terminals, CI beside a developer) never see each other's rows.
    """
    if engine in _created:
        return _created[engine]
    server = make_url(SERVER_URLS[engine])
    name = f"pomona_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(_sync_url(server), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    finally:
        admin.dispose()
    _created[engine] = server.set(database=name).render_as_string(hide_password=False)
    return _created[engine]


def _empty_tables(url: str) -> None:
    """Between tests: delete every row, keep the migrated schema."""
    engine = create_engine(_sync_url(url))
    try:
        with engine.begin() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return
            for table in reversed(metadata.sorted_tables):
                if table.name != "feed_state":
                    conn.execute(delete(table))
            conn.execute(update(FeedState).values(generation=0))
    finally:
        engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def _drop_server_databases() -> Iterator[None]:
    yield
    for engine, url in _created.items():
        admin = create_engine(_sync_url(SERVER_URLS[engine]), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {make_url(url).database}"))
        finally:
            admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A clean database on each engine, in turn."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'pomona.db'}"
    if not _reachable(SERVER_URLS[request.param]):
        unavailable(f"{request.param} at {make_url(SERVER_URLS[request.param]).render_as_string()}")
    url = _server_database(request.param)
    _empty_tables(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pomona.test") as http:
        yield http


async def make_token(
    app: FastAPI, name: str, *scopes: str, titles: list[str] | None = None
) -> dict[str, str]:
    """Authorization headers for a new token."""
    _, secret = await app.state.services.tokens.create(name, list(scopes), titles=titles)
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
async def admin(app: FastAPI) -> dict[str, str]:
    return await make_token(app, "admin", "admin")


@pytest.fixture
def corpus() -> list[Path]:
    """The real definitions in ../shared/corpus (only beside a full checkout)."""
    folder = SHARED / "corpus" / "definitions"
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        unavailable(f"the shared corpus at {folder}")
    return files


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


# -- a real server process, for black-box tests ---------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        """SIGKILL the server and its workers, as a crash of the machine would: no cleanup.
        (The server's process alone would leave granian's worker serving on, orphaned.)"""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def pomona(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run the ``pomona`` command against this server's data directory."""
        return subprocess.run(
            [sys.executable, "-m", "pomona", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            **kwargs,
        )


@contextlib.contextmanager
def serving(folder: Path, *options: str, **env: str) -> Iterator[Server]:
    """``pomona serve *options`` on a free port with its data in ``folder``; ``env`` adds
    POMONA_* variables. Stopped (SIGTERM) when the block ends; a stop over 15 s fails."""
    port = free_port()
    environment = {
        **os.environ,
        "POMONA_DATA_DIR": str(folder / "pomona-data"),
        "POMONA_PORT": str(port),
        **env,
    }
    log_path = folder / "server.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "pomona", "serve", *options],
        cwd=folder,
        env=environment,
        stdout=log,
        stderr=log,
        start_new_session=True,  # its own process group: see Server.kill
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # a busy machine starts a server slowly; never a verdict
    while True:
        try:
            if httpx.head(f"{url}/jamf/v1/", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("server did not start:\n" + log_path.read_text())
        time.sleep(0.1)
    try:
        yield Server(url, folder / "pomona-data", environment, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        finally:
            with contextlib.suppress(ProcessLookupError):  # a worker left behind
                os.killpg(process.pid, signal.SIGKILL)
            log.close()


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    """``pomona serve`` on a free port, on its embedded defaults, in a scratch directory.

    Parametrize it indirectly with "granian" or "uvicorn" to choose the HTTP server.
    """
    env = {"POMONA_SERVER": request.param} if hasattr(request, "param") else {}
    with serving(tmp_path, **env) as running:
        yield running
