"""Is this process able to serve? The checks behind ``/readyz`` and ``pomona doctor``.

Each check reaches one thing the server needs (the database, the package storage, the job
queue) and says, when it fails, what failed in words an admin can act on. They run together,
each within ``TIMEOUT`` seconds, so one hung dependency cannot hold a load balancer's probe.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from anyio import to_thread
from sqlalchemy import text

from pomona.db import Database
from pomona.errors import Problem, Unavailable
from pomona.packages.storage import Storage

TIMEOUT = 5.0
PROBE_KEY = "pomona-readyz-probe"  # a key never written; reading its absence reaches storage


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


def reason(exc: BaseException) -> str:
    """The first line of an error, without the driver's traceback noise."""
    found = getattr(exc, "orig", None) or exc
    line = (str(found).strip().splitlines() or [""])[0]
    return f"{type(found).__name__}: {line}" if line else type(found).__name__


async def run_check(name: str, probe: Callable[[], Awaitable[str]]) -> Check:
    try:
        with anyio.fail_after(TIMEOUT):
            return Check(name, True, await probe())
    except TimeoutError:
        return Check(name, False, f"no answer within {TIMEOUT:g} s")
    except Exception as exc:
        return Check(name, False, reason(exc))


async def database(db: Database) -> str:
    async with db.sessions() as session:
        await session.execute(text("SELECT 1"))
    return "answers"


async def storage(store: Storage) -> str:
    def probe() -> str:
        root = getattr(store, "root", None)
        if root is not None:  # a directory: it must be there and writable, not merely absent
            if not os.path.isdir(root):
                raise FileNotFoundError(f"the package directory {root} does not exist")
            if not os.access(root, os.W_OK | os.X_OK):
                raise PermissionError(f"the package directory {root} is not writable")
            return f"directory {root}"
        store.stat(PROBE_KEY)
        return "reachable"

    return await to_thread.run_sync(probe)


async def queue(huey: Any) -> str:
    """``huey`` is the queue's huey instance; counting its tasks reaches its storage."""
    pending = await to_thread.run_sync(huey.pending_count)
    return f"{pending} tasks pending"


async def readiness(db: Database, store: Storage, huey: Any) -> list[Check]:
    """Every check, run at once."""
    probes: list[tuple[str, Callable[[], Awaitable[str]]]] = [
        ("database", lambda: database(db)),
        ("storage", lambda: storage(store)),
        ("queue", lambda: queue(huey)),
    ]
    results: dict[str, Check] = {}

    async def one(name: str, probe: Callable[[], Awaitable[str]]) -> None:
        results[name] = await run_check(name, probe)

    async with anyio.create_task_group() as group:
        for name, probe in probes:
            group.start_soon(one, name, probe)
    return [results[name] for name, _ in probes]


def require_ready(checks: list[Check]) -> None:
    """Raise :class:`Unavailable` listing every failed check."""
    failed = [c for c in checks if not c.ok]
    if failed:
        raise Unavailable(
            [
                Problem(f"/{c.name}", f"{c.name}: {c.detail}", code=f"{c.name}_unavailable")
                for c in failed
            ]
        )
