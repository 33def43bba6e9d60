"""The Jamf feed, rendered once per change and served from memory.

Each process keeps the rendered bytes of every title and of ``/software``. A write through this
process marks the cache stale at once; writes through other processes are noticed by comparing
``feed_state.generation`` at most every ``feed_refresh_seconds``. Only titles whose generation
moved are re-rendered.

The JSON is pretty-printed with a two-space indent and sorted keys, one key per line, as
PatchServer served it: shell scripts in the wild read ``/software`` line by line with grep.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select

from pomona.db import Database
from pomona.titles.models import FeedState, Title

_PRETTY = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS


def pretty(value: Any) -> bytes:
    """The feed's JSON layout: two-space indent, sorted keys, a final newline."""
    return orjson.dumps(value, option=_PRETTY) + b"\n"


@dataclass(slots=True)
class Rendered:
    """One feed answer: its bytes, their validators, and a gzip copy made on first demand."""

    body: bytes
    last_modified: datetime | None
    etag: str = ""
    _gzipped: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.etag = '"' + hashlib.blake2b(self.body, digest_size=12).hexdigest() + '"'

    def gzipped(self) -> bytes:
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self._gzipped


@dataclass(slots=True)
class _Entry:
    generation: int
    last_modified: datetime
    summary: bytes  # this title's object in /software, indented one level
    patch: Rendered


def _array(fragments: Iterable[bytes]) -> bytes:
    items = list(fragments)
    if not items:
        return b"[]\n"
    return b"[\n" + b",\n".join(items) + b"\n]\n"


def _fragment(summary: dict[str, Any]) -> bytes:
    # Indenting the object's own rendering gives byte for byte what rendering the whole array
    # would, so /software/{ids} is a join of prepared pieces.
    return b"\n".join(b"  " + line for line in orjson.dumps(summary, option=_PRETTY).split(b"\n"))


class FeedCache:
    def __init__(
        self,
        db: Database,
        *,
        refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._refresh = refresh_seconds
        self._clock = clock
        self._lock = asyncio.Lock()
        self._generation = -1
        self._checked_at = float("-inf")
        self._entries: dict[str, _Entry] = {}
        self._software = Rendered(b"[]\n", None)

    def invalidate(self) -> None:
        """Forget when the database was last checked, so the next request looks again."""
        self._checked_at = float("-inf")

    async def software(self) -> Rendered:
        await self._fresh()
        return self._software

    async def software_for(self, ids: Iterable[str]) -> Rendered:
        await self._fresh()
        wanted = dict.fromkeys(ids)  # keeps the caller's order, drops repeats
        entries = [self._entries[i] for i in wanted if i in self._entries]
        newest = max((e.last_modified for e in entries), default=None)
        return Rendered(_array(e.summary for e in entries), newest)

    async def patch(self, title_id: str) -> Rendered | None:
        await self._fresh()
        entry = self._entries.get(title_id)
        return entry.patch if entry else None

    async def _fresh(self) -> None:
        if self._clock() - self._checked_at < self._refresh:
            return
        async with self._lock:
            if self._clock() - self._checked_at < self._refresh:
                return  # another request refreshed while this one waited
            started = self._clock()
            await self._reload()
            self._checked_at = started

    async def _reload(self) -> None:
        async with self._db.sessions() as session:
            generation = await session.scalar(select(FeedState.generation).where(FeedState.pk == 1))
            if generation == self._generation:
                return
            current = dict((await session.execute(select(Title.title_id, Title.generation))).all())
            stale = [
                i
                for i, g in current.items()
                if i not in self._entries or self._entries[i].generation != g
            ]
            for chunk in _chunks(stale, 500):
                rows = await session.execute(
                    select(
                        Title.title_id, Title.generation, Title.last_modified, Title.document
                    ).where(Title.title_id.in_(chunk))
                )
                for title_id, row_generation, last_modified, document in rows:
                    self._entries[title_id] = _render(row_generation, last_modified, document)
        for title_id in set(self._entries) - set(current):
            del self._entries[title_id]
        ordered = [self._entries[i] for i in sorted(self._entries)]
        newest = max((e.last_modified for e in ordered), default=None)
        self._software = Rendered(_array(e.summary for e in ordered), newest)
        self._generation = generation if generation is not None else -1


def _render(generation: int, last_modified: datetime, document: str) -> _Entry:
    data = orjson.loads(document)
    summary = {k: data[k] for k in ("id", "name", "publisher", "lastModified", "currentVersion")}
    return _Entry(
        generation, last_modified, _fragment(summary), Rendered(pretty(data), last_modified)
    )


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
