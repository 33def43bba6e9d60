"""The event stream as Server-Sent Events: ``id`` is the event's place in the log, so a client
that reconnects with ``Last-Event-ID`` misses nothing and gets nothing twice.

The stream polls the log (see :mod:`pomona.events.service`) and sends a comment when idle, so
proxies keep the connection. It ends when the client goes, and when the server is told to stop:
a server waits for open responses before it exits, and a stream never finishes by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from types import FrameType
from typing import Any

import orjson

from pomona.events.service import EventFilter, EventService, EventView
from pomona.times import format_time

BATCH = 100
RETRY_MS = 3000  # how long a client waits before reconnecting


def frame(event: EventView) -> bytes:
    data = {
        "id": event.id,
        "type": event.type,
        "timestamp": format_time(event.at),
        "actor": event.actor,
        "subject": event.subject,
        "namespace": event.namespace,
        "data": event.data,
    }
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event.pk, event.type.encode(), orjson.dumps(data))


class StopSignal:
    """Set when the process is told to stop (SIGTERM, SIGINT), chained before the server's own
    handlers, which stay in charge; streams end then, so the server's wait for open responses
    is short. Installed once per application, on the first stream."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self._installed = False

    def install(self) -> None:
        if self._installed:
            return
        self._installed = True
        loop = asyncio.get_running_loop()
        for number in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(number)
            if not callable(previous):
                continue  # the default action (exit) or ignored: nothing to chain to

            def handler(signum: int, frame: FrameType | None, before: Any = previous) -> None:
                loop.call_soon_threadsafe(self.event.set)
                before(signum, frame)

            try:
                signal.signal(number, handler)
            except ValueError:
                return  # not the main thread: the server handles signals elsewhere


async def stream(
    events: EventService,
    wanted: EventFilter,
    after: int | None,
    *,
    disconnected: Callable[[], Awaitable[bool]],
    stopping: asyncio.Event,
    poll: float,
    heartbeat: float,
    follow: bool = True,
) -> AsyncIterator[bytes]:
    """Events after ``after`` (None: from now on), then every new one as it commits; without
    ``follow``, only those already there."""
    position = after if after is not None else await events.last()
    yield b"retry: %d\n: stream of events after %d\n\n" % (RETRY_MS, position)
    quiet_since = time.monotonic()
    while not stopping.is_set() and not await disconnected():
        batch = await events.after(position, wanted, limit=BATCH)
        for event in batch:
            yield frame(event)
            position = event.pk
        if len(batch) == BATCH:
            continue
        if not follow:
            return
        if batch:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= heartbeat:
            yield b": keep-alive\n\n"
            quiet_since = time.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=poll)


__all__ = ["StopSignal", "frame", "stream"]
