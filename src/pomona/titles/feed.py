"""The Jamf feed, rendered once per change and served from memory.

Each process keeps the rendered bytes of every title and of ``/software``, twice: the Jamf feed
(enabled titles and versions only) and the preview feed (everything), both rendered per change.
A write through this process marks the cache stale at once; writes through other processes are
noticed by comparing ``feed_state.generation`` at most every ``feed_refresh_seconds``. Only
titles whose generation moved are re-rendered.

Each namespace (publisher) has a feed of its own, rendered from the same entries: the main feed
at ``/jamf/v1/`` is the default namespace's. A namespace that decorates its ids shows each title
as ``<id>_<Slug>`` named "<name> (<display name>)", and is asked for it by that id.

The JSON is pretty-printed with a two-space indent and sorted keys, one key per line, as
PatchServer served it: shell scripts in the wild read ``/software`` line by line with grep.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from anyio import to_thread
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from pomona.db import Database
from pomona.errors import NotFound
from pomona.titles.models import FeedState, Namespace, Title, TitleRevision, TitleState
from pomona.titles.namespaces import DEFAULT, Decoration

if TYPE_CHECKING:
    from pomona.titles.feed_http import Heads

log = logging.getLogger("pomona.feed")

# /software/{ids} answers kept between changes (Jamf Pro asks for the same list at every poll),
# bounded in bytes so that clients asking for ever new lists cannot grow the process.
CHOSEN_BYTES = 16 * 1024 * 1024

_PRETTY = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
_NON_ASCII = re.compile("[\x7f-\U0010ffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _dumps(value: Any) -> bytes:
    """Two-space indent, sorted keys, and only ASCII: byte for byte what Python's
    ``json.dumps(value, indent=2, sort_keys=True)`` (and so PatchServer) gives, whatever the
    locale of the shell script reading it."""
    data = orjson.dumps(value, option=_PRETTY)
    if data.isascii() and b"\x7f" not in data:
        return data
    # Outside strings the layout is pure ASCII, so every match is inside a string.
    return _NON_ASCII.sub(_escape, data.decode()).encode()


def pretty(value: Any) -> bytes:
    """The feed's JSON layout: two-space indent, sorted keys, ASCII, a final newline."""
    return _dumps(value) + b"\n"


@dataclass(slots=True)
class Rendered:
    """One feed answer: its bytes, their validators, and a gzip copy made on first demand."""

    body: bytes
    last_modified: datetime | None
    etag: str = ""
    _gzipped: bytes | None = field(default=None, repr=False)
    # The HTTP header lists of this answer, built once by feed_http on first use.
    http: Heads | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.etag = '"' + hashlib.blake2b(self.body, digest_size=12).hexdigest() + '"'

    def gzipped(self) -> bytes:
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self._gzipped


@dataclass(slots=True)
class _View:
    """One title as one feed shows it."""

    summary: bytes  # this title's object in /software, indented one level
    patch: Rendered


@dataclass(slots=True)
class _Entry:
    generation: int
    last_modified: datetime
    live: _View | None  # None: disabled, or no enabled version: not on the Jamf feed
    preview: _View
    namespace: str = DEFAULT
    decoration: Decoration | None = None  # as rendered; rendered again when it changes
    feed_id: str = ""  # the id its namespace's feed shows


@dataclass(slots=True)
class _Feed:
    """One namespace's feed: its titles by the id it shows, and both ``/software`` answers."""

    entries: dict[str, _Entry]
    software: Rendered
    software_preview: Rendered


def _empty_feed() -> _Feed:
    return _Feed({}, Rendered(b"[]\n", None), Rendered(b"[]\n", None))


@dataclass(frozen=True, slots=True)
class Published:
    """The Jamf feed at one generation: by namespace, ``/software`` and each ``/patch/{id}``."""

    generation: int
    feeds: dict[str, tuple[Rendered, dict[str, Rendered]]]


# Each namespace's decoration, None where it shows ids as they are.
Decorations = dict[str, Decoration | None]


def _array(fragments: Iterable[bytes]) -> bytes:
    items = list(fragments)
    if not items:
        return b"[]\n"
    return b"[\n" + b",\n".join(items) + b"\n]\n"


def _fragment(summary: dict[str, Any]) -> bytes:
    # Indenting the object's own rendering gives byte for byte what rendering the whole array
    # would, so /software/{ids} is a join of prepared pieces.
    return b"\n".join(b"  " + line for line in _dumps(summary).split(b"\n"))


class FeedCache:
    def __init__(
        self,
        db: Database,
        *,
        refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        chosen_bytes: int = CHOSEN_BYTES,
    ) -> None:
        self._db = db
        self._refresh = refresh_seconds
        self._clock = clock
        self._lock = asyncio.Lock()
        self._generation = -1
        self._checked_at = float("-inf")
        self._invalidations = 0  # writes through this process
        self._entries: dict[str, _Entry] = {}  # by title id, every namespace's
        self._last_deletion: datetime | None = None
        self._feeds: dict[str, _Feed] = {DEFAULT: _empty_feed()}
        # (namespace, ids, preview) -> its answer, oldest first; emptied whenever the feed changes.
        self._chosen: dict[tuple[str, tuple[str, ...], bool], Rendered] = {}
        self._chosen_bytes = 0
        self._chosen_limit = chosen_bytes

    def invalidate(self) -> None:
        """Forget when the database was last checked, so the next request looks again. Safe to
        call from any thread (the embedded queue's consumers write titles too)."""
        self._invalidations += 1
        self._checked_at = float("-inf")

    async def refresh(self) -> None:
        """Bring the feed up to date after a write through this process, before its writer is
        answered: the writer then reads its own write, and no reader waits for the reload."""
        self.invalidate()
        await self._fresh(wait=True)

    async def namespace(self, namespace: str) -> None:
        """Raise ``NotFound`` (``namespace_not_found``) unless the namespace has a feed."""
        await self._fresh()
        self._feed(namespace)

    def _feed(self, namespace: str) -> _Feed:
        # Called after ``_fresh``; not a coroutine of its own, which would cost every request.
        found = self._feeds.get(namespace)
        if found is None:
            raise NotFound(
                f"no namespace '{namespace}' on this server",
                "/namespace",
                "path",
                code="namespace_not_found",
            )
        return found

    async def software(self, *, preview: bool = False, namespace: str = DEFAULT) -> Rendered:
        await self._fresh()
        feed = self._feed(namespace)
        return feed.software_preview if preview else feed.software

    async def software_for(
        self, ids: Iterable[str], *, preview: bool = False, namespace: str = DEFAULT
    ) -> Rendered:
        await self._fresh()
        feed = self._feed(namespace)
        wanted = tuple(dict.fromkeys(ids))  # keeps the caller's order, drops repeats
        key = (namespace, wanted, preview)
        known = self._chosen.get(key)
        if known is not None:
            return known
        entries = [feed.entries[i] for i in wanted if i in feed.entries]
        # A hidden title's time still counts: hiding it changed this answer.
        views = [v for v in (_view(e, preview) for e in entries) if v is not None]
        rendered = Rendered(_array(v.summary for v in views), self._newest(entries))
        self._keep(key, rendered)
        return rendered

    @property
    def generation(self) -> int:
        """The database's feed generation as last read; -1 before the first read."""
        return self._generation

    async def published(self) -> Published:
        """The Jamf feed of every namespace as last rendered (checked first, as a request
        would): what static publication writes, so it never renders a second way."""
        await self._fresh(wait=True)
        return Published(
            self._generation,
            {
                namespace: (
                    feed.software,
                    {i: e.live.patch for i, e in feed.entries.items() if e.live is not None},
                )
                for namespace, feed in self._feeds.items()
            },
        )

    def _keep(self, key: tuple[str, tuple[str, ...], bool], rendered: Rendered) -> None:
        size = _kept_size(key, rendered)
        if size > self._chosen_limit:
            return
        while self._chosen and self._chosen_bytes + size > self._chosen_limit:
            oldest = next(iter(self._chosen))
            self._chosen_bytes -= _kept_size(oldest, self._chosen.pop(oldest))
        self._chosen[key] = rendered
        self._chosen_bytes += size

    async def patch(
        self, title_id: str, *, preview: bool = False, namespace: str = DEFAULT
    ) -> Rendered | None:
        """The title the namespace's feed shows as ``title_id`` (its decorated id, if any)."""
        await self._fresh()
        entry = self._feed(namespace).entries.get(title_id)
        view = _view(entry, preview) if entry else None
        return view.patch if view else None

    async def _fresh(self, *, wait: bool = False) -> None:
        if self._clock() - self._checked_at < self._refresh:
            return
        if self._lock.locked() and not wait and self._generation >= 0:
            # Another request is reloading: serve the feed as rendered meanwhile rather than have
            # every request queue behind it (measured: the queue put 10-20 ms on the p99 twice a
            # second, and 240 ms during a 500-title restore). A writer through this process
            # waits for the reload in refresh() before it is answered, so it sees its write.
            return
        async with self._lock:
            if self._clock() - self._checked_at < self._refresh:
                return  # another request refreshed while this one waited
            started, invalidations = self._clock(), self._invalidations
            try:
                await self._reload()
            except (SQLAlchemyError, OSError):
                if self._generation < 0:
                    raise  # nothing rendered yet: there is no feed to fall back on
                # Jamf Pro is better served the last good feed than an error; retry later.
                log.exception("feed: cannot read the database; serving the feed as last read")
                self._checked_at = started
                return
            if invalidations == self._invalidations:
                # A write that finished during the reload may not be in it: check again then.
                self._checked_at = started

    async def _reload(self) -> None:
        async with self._db.sessions() as session:
            generation = await session.scalar(select(FeedState.generation).where(FeedState.pk == 1))
            if generation == self._generation:
                return
            decorations = _decorations(
                (
                    await session.execute(
                        select(Namespace.slug, Namespace.display_name, Namespace.decorate_ids)
                    )
                ).all()
            )
            current = {
                i: (g, n)
                for i, g, n in await session.execute(
                    select(Title.title_id, Title.generation, Title.namespace)
                )
            }
            # A title is rendered again when it changed, or when its namespace's decoration did.
            stale = [
                i
                for i, (g, n) in current.items()
                if i not in self._entries
                or self._entries[i].generation != g
                or self._entries[i].namespace != n
                or self._entries[i].decoration != decorations.get(n)
            ]
            rows: list[_Row] = []
            for chunk in _chunks(stale, 500):
                found = await session.execute(
                    select(
                        Title.title_id,
                        Title.generation,
                        Title.last_modified,
                        Title.document,
                        Title.state,
                        Title.namespace,
                    ).where(Title.title_id.in_(chunk))
                )
                rows.extend(_Row(*row) for row in found)
            # A deletion changes /software too, so its time counts for Last-Modified: without it
            # the date would go back and If-Modified-Since would hide that a title left.
            last_deletion = await session.scalar(
                select(func.max(TitleRevision.created_at)).where(TitleRevision.action == "delete")
            )
        # Rendering is CPU work (0.1 s after a 500-title restore): it runs in a thread, and the
        # new feed replaces the old at once, so requests meanwhile are answered from the old.
        kept = {i: e for i, e in self._entries.items() if i in current}
        built = await to_thread.run_sync(_rebuild, kept, rows, last_deletion, decorations)
        self._entries, self._feeds = built
        self._last_deletion = last_deletion
        self._chosen.clear()
        self._chosen_bytes = 0
        self._generation = generation if generation is not None else -1

    def _newest(self, entries: Iterable[_Entry]) -> datetime | None:
        return _newest(entries, self._last_deletion)


@dataclass(frozen=True, slots=True)
class _Row:
    title_id: str
    generation: int
    last_modified: datetime
    document: str
    state: str | None
    namespace: str


def _decorations(rows: Iterable[Any]) -> Decorations:
    """Every namespace's decoration; the default namespace is there with or without a row."""
    found: Decorations = {DEFAULT: None}
    for slug, display_name, decorate_ids in rows:
        found[slug] = Decoration.of(slug, display_name) if decorate_ids else None
    return found


def _rebuild(
    kept: dict[str, _Entry],
    rows: list[_Row],
    last_deletion: datetime | None,
    decorations: Decorations,
) -> tuple[dict[str, _Entry], dict[str, _Feed]]:
    """The entries with the changed titles rendered again, and each namespace's feed."""
    entries = dict(kept)
    for row in rows:
        decoration = decorations.get(row.namespace)
        entry = _render(row.generation, row.last_modified, row.document, row.state, decoration)
        entry.namespace, entry.decoration = row.namespace, decoration
        entry.feed_id = decoration.feed_id(row.title_id) if decoration else row.title_id
        entries[row.title_id] = entry
    grouped: dict[str, list[_Entry]] = {namespace: [] for namespace in decorations}
    for entry in entries.values():
        # A title whose namespace has no row (removed behind the server's back) has no feed.
        grouped.get(entry.namespace, []).append(entry)
    feeds: dict[str, _Feed] = {}
    for namespace, members in grouped.items():
        ordered = sorted(members, key=lambda e: e.feed_id)
        # Every title's time counts, shown or hidden: disabling one changes /software too.
        newest = _newest(ordered, last_deletion)
        live = _array(e.live.summary for e in ordered if e.live is not None)
        feeds[namespace] = _Feed(
            {e.feed_id: e for e in ordered},
            Rendered(live, newest),
            Rendered(_array(e.preview.summary for e in ordered), newest),
        )
    return entries, feeds


def _newest(entries: Iterable[_Entry], last_deletion: datetime | None) -> datetime | None:
    moments = [e.last_modified for e in entries]
    if last_deletion is not None:
        moments.append(last_deletion)
    return max(moments, default=None)


def _kept_size(key: tuple[str, tuple[str, ...], bool], rendered: Rendered) -> int:
    return len(rendered.body) + sum(map(len, key[1]))


def _render(
    generation: int,
    last_modified: datetime,
    document: str,
    state: str | None,
    decoration: Decoration | None = None,
) -> _Entry:
    """Both views of a title, rendered once: the preview shows everything, the Jamf feed only
    what is enabled, with ``currentVersion`` the newest enabled version."""
    data = orjson.loads(document)
    if decoration is not None:
        data["id"] = decoration.feed_id(data["id"])
        data["name"] = decoration.name(data["name"])
    preview = _render_view(data, last_modified)
    shown = TitleState.load(state)
    if not shown.enabled:
        return _Entry(generation, last_modified, None, preview)
    if not shown.disabled_versions:
        return _Entry(generation, last_modified, preview, preview)
    hidden = set(shown.disabled_versions)
    patches = [p for p in data["patches"] if p["version"] not in hidden]
    if not patches:
        # A title without a version is invalid to Jamf Pro: leave the feed instead.
        return _Entry(generation, last_modified, None, preview)
    live = {**data, "patches": patches, "currentVersion": patches[0]["version"]}
    return _Entry(generation, last_modified, _render_view(live, last_modified), preview)


def _render_view(data: dict[str, Any], last_modified: datetime) -> _View:
    summary = {k: data[k] for k in ("id", "name", "publisher", "lastModified", "currentVersion")}
    return _View(_fragment(summary), Rendered(pretty(data), last_modified))


def _view(entry: _Entry, preview: bool) -> _View | None:
    return entry.preview if preview else entry.live


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
