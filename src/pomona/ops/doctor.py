"""``pomona doctor``: every check an admin would make by hand, each saying what to fix.

Settings, the database and its migrations, the package storage (a write, a read back and a
delete), the job queue, the clock, and TLS in front of Pomona when ``public_url`` is set. Each
check runs whatever the others found, so one report lists everything wrong at once.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from anyio import to_thread
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from pomona.db import Database
from pomona.ops.health import reason
from pomona.settings import Settings

CLOCK_SKEW_SECONDS = 30.0  # beyond this, presigned URLs, tokens' expiry and TLS go wrong
CERT_WARN_DAYS = 14


@dataclass(frozen=True, slots=True)
class Finding:
    name: str
    ok: bool
    detail: str
    fix: str = ""


class Failed(Exception):
    """A check failed; ``fix`` says what to do."""

    def __init__(self, detail: str, fix: str) -> None:
        super().__init__(detail)
        self.fix = fix


def _url(settings: Settings) -> str:
    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)


async def _database(settings: Settings, db: Database) -> str:
    url = make_url(settings.resolved_database_url)
    sqlite_file = url.database if settings.is_sqlite else None
    if sqlite_file and not await to_thread.run_sync(os.path.exists, sqlite_file):
        raise Failed(
            f"no database at {sqlite_file}",
            "if Pomona runs with another data directory, pass it (--data-dir or "
            "POMONA_DATA_DIR, or the config file's data_dir); for a new server, run "
            "`pomona migrate`",
        )
    try:
        async with db.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        raise Failed(
            f"{_url(settings)}: {reason(exc)}",
            "check database_url (POMONA_DATABASE_URL or the config file), that the database "
            "server runs and that this machine may reach it",
        ) from None
    return f"{_url(settings)} answers"


def _revisions(connection: Connection, url: str) -> tuple[str | None, str | None]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from pomona.migrations import alembic_config

    current = MigrationContext.configure(connection).get_current_revision()
    return current, ScriptDirectory.from_config(alembic_config(url)).get_current_head()


async def _migrations(_settings: Settings, db: Database) -> str:
    async with db.engine.connect() as connection:
        current, head = await connection.run_sync(_revisions, db.url)
    if current is None:
        raise Failed(
            "the database is empty (no schema yet)",
            "run `pomona migrate` (or start `pomona serve`, which migrates on start)",
        )
    if current != head:
        raise Failed(
            f"the schema is at revision {current}, this version of Pomona needs {head}",
            "run `pomona migrate` with this version before starting its servers",
        )
    return f"schema at revision {current} (the latest)"


async def _storage(settings: Settings, _db: Database) -> str:
    from pomona.packages.storage import build_storage

    key = f"pomona-doctor-{secrets.token_hex(6)}"
    payload = secrets.token_bytes(64)
    where = (
        f"s3://{settings.s3_bucket}/{settings.s3_prefix}"
        if settings.package_storage == "s3"
        else str(settings.resolved_package_dir.resolve())
    )

    def probe() -> None:
        store = build_storage(settings)
        store.put_stream(key, [payload])
        try:
            back = b"".join(store.open_range(key))
            if back != payload:
                raise Failed(
                    f"{where}: wrote 64 bytes and read back {len(back)} different ones",
                    "the storage does not keep what is written: check the disk or the bucket",
                )
        finally:
            store.delete(key)
        if store.stat(key) is not None:
            raise Failed(f"{where}: a deleted object is still there", "check the bucket's policy")

    try:
        await to_thread.run_sync(probe)
    except Failed:
        raise
    except Exception as exc:
        fix = (
            "check s3_bucket, s3_endpoint_url and the credentials (s3_access_key_id or the "
            "environment), and that they may put, get and delete objects"
            if settings.package_storage == "s3"
            else "check that package_dir exists and that the user running Pomona may write it"
        )
        raise Failed(f"{where}: {reason(exc)}", fix) from None
    return f"{where}: wrote, read back and deleted an object"


async def _queue(settings: Settings, _db: Database) -> str:
    from pomona.queue.service import Queue

    def probe() -> int:
        queue = Queue(settings)
        try:
            return int(queue.huey.pending_count())
        finally:
            queue.close()

    url = make_url(settings.resolved_queue_url).render_as_string(hide_password=True)
    try:
        pending = await to_thread.run_sync(probe)
    except Exception as exc:
        raise Failed(
            f"{url}: {reason(exc)}",
            "check queue_url and that its server (Redis, PostgreSQL) runs; run `pomona migrate` "
            "to create the queue's tables",
        ) from None
    return f"{url}: {pending} tasks waiting"


async def _clock(settings: Settings, db: Database) -> str:
    if settings.is_sqlite:
        return f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC (SQLite shares this machine's clock)"
    async with db.sessions() as session:
        theirs = await session.scalar(text("SELECT CURRENT_TIMESTAMP"))
    if not isinstance(theirs, datetime):
        return "the database did not say its time"
    if theirs.tzinfo is None:  # MariaDB answers in its session's zone, UTC for Pomona
        theirs = theirs.replace(tzinfo=UTC)
    skew = abs((datetime.now(UTC) - theirs).total_seconds())
    if skew > CLOCK_SKEW_SECONDS:
        raise Failed(
            f"this machine and the database disagree by {skew:.0f} s",
            "synchronise the clocks (NTP: chrony or systemd-timesyncd) on both machines",
        )
    return f"within {skew:.1f} s of the database's"


def _certificate(host: str, port: int) -> dict[str, Any]:
    context = ssl.create_default_context()
    with (
        socket.create_connection((host, port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        return tls.getpeercert() or {}


async def _tls(settings: Settings, _db: Database) -> str:
    public = settings.public_url
    if not public:
        return "public_url is not set: nothing to check"
    parts = urlsplit(public)
    if parts.scheme != "https":
        raise Failed(
            f"public_url {public} is not https: Jamf Pro and Macs would fetch in the clear",
            "put a TLS proxy in front (docs/deployment.md has Caddy and nginx recipes) and set "
            "public_url to its https:// address",
        )
    host, port = parts.hostname or "", parts.port or 443
    try:
        cert = await to_thread.run_sync(_certificate, host, port)
        started = time.time()
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.get(public.rstrip("/") + "/healthz")
        answered = time.time()
    except Exception as exc:
        raise Failed(
            f"{public}: {reason(exc)}",
            "check that the proxy runs, that its certificate is valid for this name and "
            "trusted (a full chain), and that it forwards to Pomona",
        ) from None
    if answer.status_code != 200:
        raise Failed(
            f"{public}/healthz answered {answer.status_code}",
            "the proxy answers but does not reach Pomona: check its upstream address",
        )
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), UTC)
    days = (expires - datetime.now(UTC)).days
    if days < CERT_WARN_DAYS:
        raise Failed(
            f"the certificate of {host} expires in {days} days ({expires:%Y-%m-%d})",
            "renew it (Caddy and certbot renew on their own when they can reach the ACME server)",
        )
    found = f"{public} answers through TLS; certificate valid until {expires:%Y-%m-%d}"
    if "date" in answer.headers:
        theirs = parsedate_to_datetime(answer.headers["date"]).timestamp()
        skew = abs(theirs - (started + answered) / 2)
        if skew > CLOCK_SKEW_SECONDS:
            raise Failed(
                f"{public} says it is {skew:.0f} s away from this machine's clock",
                "synchronise the clocks (NTP) of this machine and the one serving public_url",
            )
    return found


Check = Callable[[Settings, Database], Awaitable[str]]
CHECKS: list[tuple[str, Check]] = [
    ("database", _database),
    ("migrations", _migrations),
    ("storage", _storage),
    ("queue", _queue),
    ("clock", _clock),
    ("tls", _tls),
]
NEED_DATABASE = frozenset({"migrations", "clock"})


async def _run(settings: Settings, source: str, data: str) -> list[Finding]:
    findings = [Finding("settings", True, f"{source}; data directory {data}")]
    db = Database(settings.resolved_database_url)
    try:
        for name, check in CHECKS:
            if name in NEED_DATABASE and not findings[1].ok:
                findings.append(Finding(name, False, "not checked: the database is unreachable"))
                continue
            try:
                found = await asyncio.wait_for(check(settings, db), 60)
                findings.append(Finding(name, True, found))
            except Failed as failed:
                findings.append(Finding(name, False, str(failed), failed.fix))
            except Exception as exc:
                findings.append(Finding(name, False, reason(exc), "see the message"))
    finally:
        await db.dispose()
    return findings


def examine(settings: Settings, source: str) -> list[Finding]:
    """Run every check; ``source`` says where the settings came from."""
    return asyncio.run(_run(settings, source, os.path.abspath(settings.data_dir)))
