"""Bandwidth limits (token buckets) and transfer windows.

A transfer takes tokens from its peer's bucket and from the process's overall bucket before it
asks for more bytes, so the rate of each peer and of all of them stays under its limit. The
buckets live in the process: with several worker processes, each keeps to the limits.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime
from datetime import time as dt_time

from pomona.errors import Invalid

_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


class TokenBucket:
    """``rate`` bytes per second, bursts up to one second's worth (at least ``floor``)."""

    def __init__(self, rate: int, floor: int = 0) -> None:
        self.rate = rate
        self.capacity = max(rate, floor)
        self.tokens = float(self.capacity)
        self.stamp = time.monotonic()
        self.lock = asyncio.Lock()

    async def take(self, amount: int) -> None:
        if self.rate <= 0:
            return
        async with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            self.tokens -= amount
            if self.tokens < 0:
                # In debt: wait until it is paid, holding the lock so others queue behind.
                await asyncio.sleep(-self.tokens / self.rate)


class Buckets:
    """The process's buckets: one per peer, one overall."""

    def __init__(self, overall: int) -> None:
        self.overall = TokenBucket(overall)
        self._peers: dict[str, TokenBucket] = {}

    def peer(self, peer_id: str, rate: int) -> TokenBucket:
        bucket = self._peers.get(peer_id)
        if bucket is None or bucket.rate != rate:
            bucket = self._peers[peer_id] = TokenBucket(rate)
        return bucket


def check_window(window: str) -> tuple[dt_time, dt_time]:
    found = _WINDOW.fullmatch(window)
    if found is None:
        raise Invalid(
            f"{window!r} is not a window: write HH:MM-HH:MM in UTC, e.g. 22:00-06:00",
            "/window",
            code="window_invalid",
        )
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    return dt_time(h1, m1), dt_time(h2, m2)


def in_window(window: str | None, now: datetime) -> bool:
    """Whether ``now`` (UTC) is inside ``window``; a window past midnight wraps; none: always."""
    if not window:
        return True
    start, end = check_window(window)
    moment = now.time().replace(tzinfo=None)
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end
