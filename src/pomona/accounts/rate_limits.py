"""Rate limits with a sliding window, counted in the database.

Each limited request adds a row to its bucket (``signup-address:192.0.2.7``); a request is
refused while the bucket holds ``count`` rows younger than the window. Kept in the database,
not in memory, so that every process of a server (and every server of one database) counts the
same requests. A refused request is not counted, so a client that waits is let in again once
its oldest counted request leaves the window. Requests arriving at the same instant may each
see the last free place (no lock is taken, so that counting never waits on another client): a
limit can be passed by a request or two under a burst, which is what a rate limit is for anyway.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import delete, func, select

from pomona.accounts.mail_settings import rate
from pomona.accounts.models import RateHit
from pomona.db import Database, utcnow
from pomona.errors import TooMany


class RateLimits:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def hit(self, bucket: str, spec: str, what: str) -> None:
        """Count one request of ``bucket`` under the limit ``spec`` (``COUNT/SECONDS``), or
        raise :class:`TooMany` when the window is full. ``what`` names it in the refusal."""
        count, seconds = rate(spec)
        key = bucket[:255]
        async with self.db.transaction() as session:
            now = utcnow()
            start = now - timedelta(seconds=seconds)
            # Rows that left the window are forgotten as the bucket is used, so no sweep is
            # needed and a bucket nobody uses again leaves at most ``count`` rows behind.
            await session.execute(delete(RateHit).where(RateHit.bucket == key, RateHit.at <= start))
            held, oldest = (
                await session.execute(
                    select(func.count(), func.min(RateHit.at)).where(RateHit.bucket == key)
                )
            ).one()
            if held >= count and oldest is not None:
                wait = max(1, math.ceil((oldest - start).total_seconds()))
                raise TooMany(
                    f"too many {what}; try again in {wait} seconds",
                    code="rate_limited",
                    retry_after=wait,
                )
            session.add(RateHit(bucket=key, at=now))
