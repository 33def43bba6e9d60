"""Lockout after repeated failed sign-ins, with a backoff that doubles.

Failures are counted per username, whether an account has that name or not: the refusal reads
the same for both, so it tells nobody which names exist. After ``signin_lockout_failures``
failures in a row, sign-in for that name is refused for ``signin_lockout_seconds``, doubled at
each further failure up to ``signin_lockout_max_seconds``. A success clears the count.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.accounts.models import SigninFailure
from pomona.db import Database, utcnow
from pomona.errors import Unauthenticated
from pomona.settings import Settings


def locked(until: datetime, now: datetime) -> Unauthenticated:
    seconds = max(1, math.ceil((until - now).total_seconds()))
    return Unauthenticated(
        f"too many failed sign-ins for this username; try again in {seconds} seconds",
        "/username",
        code="signin_locked",
    )


class Lockout:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._forget = timedelta(seconds=settings.signin_lockout_max_seconds)

    async def check(self, username: str) -> None:
        """Raise while ``username`` is locked out."""
        async with self.db.sessions() as session:
            row = await session.get(SigninFailure, username)
        now = utcnow()
        if row is not None and row.locked_until is not None and row.locked_until > now:
            raise locked(row.locked_until, now)

    async def failed(self, username: str) -> datetime | None:
        """Count one failure; the end of the lockout it starts, if it starts one."""
        threshold = self.settings.signin_lockout_failures
        for _ in range(3):  # two first failures of one name at once: one insert wins, retry
            try:
                async with self.db.transaction() as session:
                    row = await session.get(SigninFailure, username, with_for_update=True)
                    now = utcnow()
                    if row is None:
                        row = SigninFailure(username=username, failures=0, last_failure_at=now)
                        session.add(row)
                    elif now - row.last_failure_at > self._forget:
                        row.failures = 0  # an old run of failures is forgiven
                    row.failures += 1
                    row.last_failure_at = now
                    if row.failures >= threshold:
                        doubling = min(row.failures - threshold, 20)
                        seconds = min(
                            self.settings.signin_lockout_seconds * 2**doubling,
                            self.settings.signin_lockout_max_seconds,
                        )
                        row.locked_until = now + timedelta(seconds=seconds)
                    return row.locked_until
            except IntegrityError:
                continue
        return None

    async def succeeded(self, username: str) -> None:
        async with self.db.transaction() as session:
            await clear(session, username)


async def clear(session: AsyncSession, username: str) -> None:
    await session.execute(delete(SigninFailure).where(SigninFailure.username == username))
