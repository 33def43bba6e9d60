"""The operations service: readiness and the metrics exposition of one process."""

from __future__ import annotations

from typing import Any

from anyio import to_thread

from pomona.db import Database
from pomona.ops import health
from pomona.ops.metrics import metrics
from pomona.packages.storage import Storage


class OperationsService:
    def __init__(self, db: Database, storage: Storage, huey: Any) -> None:
        self.db, self.storage, self.huey = db, storage, huey

    async def ready(self) -> list[health.Check]:
        """Every check passed, or :class:`pomona.errors.Unavailable` listing those that failed."""
        checks = await self.checks()
        health.require_ready(checks)
        return checks

    async def checks(self) -> list[health.Check]:
        """Every readiness check, passed or failed (the web UI's dashboard shows them all)."""
        return await health.readiness(self.db, self.storage, self.huey)

    async def exposition(self) -> bytes:
        """The Prometheus text of every process of this server (files read in a thread)."""
        metrics().flush()
        return await to_thread.run_sync(metrics().exposition)
