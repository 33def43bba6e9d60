"""Static feed publication: the Jamf feed of every namespace, written as files that nginx or a
CDN serves to any number of Jamf Pro servers, while Pomona stays where titles are managed.

The files mirror the feed's URLs (``jamf/v1/software``, ``jamf/v1/patch/<id>``, and
``jamf/v1/<namespace>/...`` for each other namespace) and hold the very bytes Pomona serves:
they are taken from the rendered feed (``FeedCache.published``), never rendered a second way.

The order of the writes is what makes a publication safe to interrupt: every changed patch
first, then each namespace's index (``software``), and only then are the files of titles that
left the feed removed. A crash anywhere leaves every index naming titles whose files are there.
A file whose bytes did not change is not written again, so the ETag and Last-Modified that the
front server derives from it stay put. ``/software/{ids}`` has a file per list asked for and
cannot be written ahead: the front server forwards it to Pomona.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from anyio import to_thread

from pomona.db import Database
from pomona.errors import Unavailable
from pomona.packages.storage import LocalStorage, S3Storage, s3_storage
from pomona.settings import Settings
from pomona.titles.feed import FeedCache, Published
from pomona.titles.namespaces import DEFAULT

FEED_ROOT = "jamf/v1"
INDEX = "software"
CONTENT_TYPE = "application/json"
CACHE_CONTROL = "no-cache"  # as the feed itself answers
# Beside the feed, not in it: the generation last published, so that a process holding an older
# feed than the one published (several processes, one target) leaves the newer one in place.
MARKER = ".pomona-feed-generation"
RETRY_MAX = 60.0
# Published again this often even when the feed did not change: what a process that lost a race
# on S3 (which has no lock) left behind, or a file removed by hand, is put right within it.
RECHECK_SECONDS = 60.0

log = logging.getLogger("pomona.feed.publishing")


@dataclass(frozen=True, slots=True)
class FeedFile:
    key: str
    body: bytes
    etag: str  # the feed's own ETag, kept as the object's metadata where the target has any


@dataclass(frozen=True, slots=True)
class Publication:
    where: str
    generation: int
    written: int
    unchanged: int
    removed: int
    skipped: bool = False  # a newer feed was already published there

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Target(Protocol):
    """Where a published feed goes; synchronous, called in a worker thread."""

    where: str

    def listing(self) -> dict[str, str]:
        """Each file under the feed's root, with the fingerprint of its bytes."""

    def fingerprint(self, body: bytes) -> str:
        """What ``listing`` shows for a file holding ``body``."""

    def put(self, file: FeedFile) -> None:
        """Store the file whole (visible at once, or not at all)."""

    def delete(self, key: str) -> None: ...

    def generation(self) -> int | None:
        """The feed generation published last, if any."""

    def mark(self, generation: int) -> None: ...

    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        """Held while publishing, where the target can keep other processes out."""


def feed_files(published: Published) -> tuple[list[FeedFile], list[FeedFile]]:
    """The patches and the indexes of every namespace, each as the file its URL names."""
    patches: list[FeedFile] = []
    indexes: list[FeedFile] = []
    for namespace, (software, titles) in sorted(published.feeds.items()):
        base = FEED_ROOT if namespace == DEFAULT else f"{FEED_ROOT}/{namespace}"
        indexes.append(FeedFile(f"{base}/{INDEX}", software.body, software.etag))
        for feed_id, rendered in sorted(titles.items()):
            if feed_id in (".", ".."):
                # Valid title ids that no file (and no URL a front server passes on) can name.
                log.warning("feed: title '%s' cannot be published as a file", feed_id)
                continue
            patches.append(FeedFile(f"{base}/patch/{feed_id}", rendered.body, rendered.etag))
    return patches, indexes


def publish(target: Target, published: Published) -> Publication:
    """Write the feed to ``target``: changed patches, then the indexes, then removals."""
    patches, indexes = feed_files(published)
    with target.exclusive():
        there = target.generation()
        if there is not None and there > published.generation:
            return Publication(target.where, published.generation, 0, 0, 0, skipped=True)
        listing = target.listing()
        written = unchanged = 0
        for file in [*patches, *indexes]:  # the order is the guarantee: see the module's doc
            if listing.get(file.key) == target.fingerprint(file.body):
                unchanged += 1
                continue
            target.put(file)
            written += 1
        wanted = {file.key for file in [*patches, *indexes]}
        gone = sorted(key for key in listing if key not in wanted)
        for key in gone:
            target.delete(key)
        if there != published.generation:
            target.mark(published.generation)
    done = Publication(target.where, published.generation, written, unchanged, len(gone))
    if written or gone:
        log.info(
            "feed published to %s: %d files written, %d removed", done.where, written, len(gone)
        )
    return done


class DirectoryTarget:
    """A directory: each file written to a temporary name, synced, then renamed into place."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.where = str(self.root)
        self._store: LocalStorage | None = None
        # key -> (size, mtime in ns, fingerprint): a file not touched since is not read again.
        self._known: dict[str, tuple[int, int, str]] = {}

    @property
    def store(self) -> LocalStorage:
        """Made on first use, in the publishing thread: a directory that cannot be made yet
        (a mount not there) is a failure to retry, not one that stops the server."""
        if self._store is None:
            self._store = LocalStorage(self.root)
        return self._store

    def listing(self) -> dict[str, str]:
        seen: dict[str, tuple[int, int, str]] = {}
        for info in self.store.list(FEED_ROOT + "/"):
            stat = (self.store.root / info.key).stat()
            known = self._known.get(info.key)
            if known is None or known[:2] != (stat.st_size, stat.st_mtime_ns):
                body = b"".join(self.store.open_range(info.key))
                known = (stat.st_size, stat.st_mtime_ns, self.fingerprint(body))
            seen[info.key] = known
        self._known = seen
        return {key: known[2] for key, known in seen.items()}

    def fingerprint(self, body: bytes) -> str:
        return hashlib.sha256(body).hexdigest()

    def put(self, file: FeedFile) -> None:
        self.store.put_stream(file.key, [file.body])

    def delete(self, key: str) -> None:
        self.store.delete(key)
        # A namespace that left leaves no empty directories behind.
        folder = (self.store.root / key).parent
        while folder != self.store.root and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent

    def generation(self) -> int | None:
        path = self.store.root / MARKER
        return int(path.read_text()) if path.exists() else None

    def mark(self, generation: int) -> None:
        self.store.put_stream(MARKER, [str(generation).encode()])

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with (self.store.tmp / "feed.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


class BucketTarget:
    """An S3 bucket (under a prefix): each object whole, with the feed's Content-Type, its
    Cache-Control, and its ETag as metadata (S3's own ETag is the body's MD5)."""

    def __init__(self, store: S3Storage, where: str) -> None:
        self.store = store
        self.where = where

    def _key(self, key: str) -> str:
        return self.store.prefix + key

    def listing(self) -> dict[str, str]:
        pages = self.store.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.store.bucket, Prefix=self._key(FEED_ROOT + "/")
        )
        return {
            item["Key"][len(self.store.prefix) :]: item["ETag"].strip('"')
            for page in pages
            for item in page.get("Contents", [])
        }

    def fingerprint(self, body: bytes) -> str:
        return hashlib.md5(body, usedforsecurity=False).hexdigest()

    def put(self, file: FeedFile) -> None:
        self.store.client.put_object(
            Bucket=self.store.bucket,
            Key=self._key(file.key),
            Body=file.body,
            ContentType=CONTENT_TYPE,
            CacheControl=CACHE_CONTROL,
            Metadata={"pomona-etag": file.etag.strip('"')},
        )

    def delete(self, key: str) -> None:
        self.store.delete(key)

    def generation(self) -> int | None:
        if self.store.stat(MARKER) is None:
            return None
        return int(b"".join(self.store.open_range(MARKER)))

    def mark(self, generation: int) -> None:
        self.store.put_stream(MARKER, [str(generation).encode()])

    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        # S3 has no lock; the generation mark keeps an older feed from replacing a newer one,
        # and a process that loses a race publishes again when it next sees the feed change.
        return contextlib.nullcontext()


def static_target(settings: Settings) -> Target | None:
    """The target the settings name (``static_feed_dir`` or ``static_feed_url``, which the
    settings keep to one), or None."""
    if settings.static_feed_url:
        bucket, _, prefix = settings.static_feed_url.removeprefix("s3://").partition("/")
        return BucketTarget(s3_storage(settings, bucket, prefix), settings.static_feed_url)
    if settings.static_feed_dir is not None:
        return DirectoryTarget(settings.static_feed_dir.expanduser())
    return None


class FeedPublisher:
    """Publishes this process's rendered feed to a target, once at a time."""

    def __init__(
        self, feed: FeedCache, target: Target, *, recheck_seconds: float = RECHECK_SECONDS
    ) -> None:
        self.feed = feed
        self.target = target
        self.recheck_seconds = recheck_seconds
        self._lock = asyncio.Lock()
        self._done = -1  # the generation this process last published
        self._done_at = float("-inf")  # when, on the loop's clock

    async def publish(self) -> Publication:
        async with self._lock:
            published = await self.feed.published()
            done = await to_thread.run_sync(publish, self.target, published)
            self._done = published.generation
            self._done_at = asyncio.get_running_loop().time()
            return done

    async def watch(self, seconds: float) -> None:
        """Publish now, again each time the feed's generation moves (checked every
        ``seconds``, as requests check it), and every ``recheck_seconds`` regardless. A target
        that fails is logged and tried again, less often while it keeps failing; it never stops
        the server."""
        pause = seconds
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.feed.namespace(DEFAULT)  # brings the feed up to date, as a request does
                due = loop.time() - self._done_at >= self.recheck_seconds
                if due or self.feed.generation != self._done:
                    await self.publish()
                pause = seconds
            except Exception:  # any failure of the target: the loop must go on
                log.exception("feed: cannot publish to %s; trying again", self.target.where)
                pause = min(max(pause, 1.0) * 2, RETRY_MAX)
            await asyncio.sleep(max(pause, 0.1))


async def start_publishing(settings: Settings, feed: FeedCache) -> asyncio.Task[None] | None:
    """The web process's publishing loop, when a static feed target is set."""
    target = await to_thread.run_sync(static_target, settings)  # boto3 takes a while to load
    if target is None:
        return None
    return asyncio.create_task(FeedPublisher(feed, target).watch(settings.feed_refresh_seconds))


async def publish_now(settings: Settings, db: Database) -> Publication | None:
    """``pomona feed publish``: the feed as the database holds it now, to the target the
    settings name; None when they name none."""
    target = await to_thread.run_sync(static_target, settings)
    if target is None:
        return None
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return await FeedPublisher(FeedCache(db, refresh_seconds=0), target).publish()
    except (OSError, BotoCoreError, ClientError) as exc:
        setting = "/static_feed_url" if settings.static_feed_url else "/static_feed_dir"
        raise Unavailable(
            f"cannot publish the feed to {target.where}: {exc}", setting, code="static_feed_failed"
        ) from exc
