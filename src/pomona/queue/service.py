"""The job queue: a huey instance built from settings, leases, and the consumers that run tasks.

* Storage follows ``queue_url``: SQLite (default, ``<data_dir>/queue.db``), Redis or PostgreSQL.
  The SQL storages' tables are created by ``pomona migrate`` (and by ``pomona serve`` when it
  migrates on start), never by starting workers, so that many workers starting at once never race
  to create them.
* Consumers: ``pomona serve`` runs worker threads in its own process (:meth:`Queue.start`);
  ``pomona worker`` runs them in a process of its own (:meth:`Queue.run`). Both also run the
  lease keeper.
* Leases (see :mod:`pomona.queue.models`): every task holds one while it runs; the keeper thread
  of each process renews its own leases and puts back in the queue the tasks whose lease ran out.
* Failed tasks are retried ``queue_retries`` times, the delay doubling from ``queue_retry_delay``.
* Periodic tasks: every consumer's scheduler checks them each minute; the first process to claim
  a period (an atomic put-if-empty in the queue's storage) enqueues the task, so several
  processes never run the same period twice.

Tasks are synchronous functions run in worker threads. Those that need the database call async
services through :class:`Runtime`, an event loop thread with its own engine.
"""

from __future__ import annotations

import asyncio
import base64
import calendar
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from typing import Any, Generic, ParamSpec, Protocol, TypeVar

from huey import Huey, PostgresHuey, RedisHuey, SqliteHuey
from huey.api import PeriodicTask, Task, TaskWrapper
from huey.consumer import Consumer
from huey.storage import SqliteStorage
from sqlalchemy import delete, select, update
from sqlalchemy.engine import make_url

from pomona.db import Database
from pomona.queue.models import QueueLease
from pomona.settings import Settings

T = TypeVar("T")
P = ParamSpec("P")
PERIODIC_GRACE = 30.0  # seconds after start before a process claims periodic work
log = logging.getLogger("pomona.queue")


class QueueNotReady(RuntimeError):
    """The queue's tables do not exist yet."""


def _storage(settings: Settings, *, create_tables: bool) -> Huey:
    url = settings.resolved_queue_url
    scheme = url.partition(":")[0].lower()
    name = settings.queue_name
    # Results show the final outcome only, not the failures that retries went on to fix.
    common: dict[str, Any] = {"store_intermediate_errors": False}
    if scheme == "sqlite":
        path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else ""
        if not path:
            raise ValueError(f"queue_url {url!r}: write sqlite:///relative or sqlite:////absolute")
        return SqliteHuey(name, filename=path, create_tables=create_tables, timeout=30, **common)
    if scheme in ("redis", "rediss", "unix"):
        return RedisHuey(name, url=url, **common)
    if scheme.startswith("postgres"):
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        return PostgresHuey(
            name, dsn=dsn, create_tables=create_tables, table_prefix="huey", **common
        )
    raise ValueError(f"queue_url {url!r}: use sqlite:///..., redis://... or postgresql://...")


def create_queue_tables(settings: Settings) -> None:
    """Create the queue's tables where its storage has tables (SQLite, PostgreSQL)."""
    if settings.is_sqlite or settings.resolved_queue_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    huey = _storage(settings, create_tables=True)
    close = getattr(huey.storage, "close", None)
    if close is not None:
        close()


def _check_tables(huey: Huey) -> None:
    storage = huey.storage
    if not hasattr(storage, "sql"):
        return  # Redis: nothing to create
    # SqliteStorage's table_task is its DDL; PostgresStorage's is the table's name.
    table = "task" if isinstance(storage, SqliteStorage) else storage.table_task
    try:
        storage.sql(f"select 1 from {table} limit 1", results=True)  # noqa: S608 (a constant)
    except Exception as exc:
        raise QueueNotReady(
            f"the job queue's tables are missing ({exc}); run `pomona migrate` first"
        ) from None


class Runtime:
    """An event loop in a thread of its own, with a database engine, for synchronous tasks."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="pomona-task-loop", daemon=True
        )
        self._thread.start()
        self.db = Database(settings.resolved_database_url)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        self.run(self.db.dispose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class Result(Protocol):
    """What enqueueing a task returns: huey's handle on its result."""

    def get(self, blocking: bool = False, timeout: float | None = None) -> Any: ...


class QueuedTask(Generic[P]):
    """A task of the queue: calling it enqueues a run with these arguments (which must be
    serialisable) and returns the handle on its result. Typed by the function it runs."""

    def __init__(self, wrapper: TaskWrapper) -> None:
        self._wrapper = wrapper

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Result:
        result: Result = self._wrapper(*args, **kwargs)
        return result

    def later(self, delay: float, *args: P.args, **kwargs: P.kwargs) -> Result:
        """Enqueue a run ``delay`` seconds from now."""
        result: Result = self._wrapper.schedule(args=args, kwargs=kwargs, delay=delay)
        return result


class _EmbeddedConsumer(Consumer):  # type: ignore[misc]
    """A consumer inside another program: the program (uvicorn) owns the signal handlers."""

    def _set_signal_handlers(self) -> None:
        pass


class Queue:
    """The huey instance of one process, and what runs its tasks."""

    def __init__(self, settings: Settings, *, check_tables: bool = True) -> None:
        self.settings = settings
        self.huey = _storage(settings, create_tables=False)
        if check_tables:
            _check_tables(self.huey)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self._created = time.monotonic()
        self._runtime: Runtime | None = None
        self._runtime_lock = threading.Lock()
        self._held: set[str] = set()
        self._held_lock = threading.Lock()
        self._stop = threading.Event()
        self._keeper: threading.Thread | None = None
        self._loops: list[tuple[str, float, Callable[[], Any]]] = []
        self._loop_threads: list[threading.Thread] = []
        self._consumer: Consumer | None = None
        self.huey.pre_execute(name="pomona-lease")(self._acquire)
        self.huey.post_execute(name="pomona-lease")(self._release)

    # -- defining tasks ---------------------------------------------------------------------------

    def task(self, name: str, function: Callable[P, Any]) -> QueuedTask[P]:
        """Register ``function`` as a task retried with a doubling delay."""
        return QueuedTask(self._register(name, function, context=False))

    def task_with_context(self, name: str, function: Callable[P, Any]) -> QueuedTask[P]:
        """Like :meth:`task`, for a function that takes huey's ``task`` keyword argument (to
        know its attempt); callers do not pass it."""
        return QueuedTask(self._register(name, function, context=True))

    def _register(self, name: str, function: Callable[..., Any], *, context: bool) -> TaskWrapper:
        wrapper: TaskWrapper = self.huey.task(
            retries=self.settings.queue_retries,
            retry_delay=self.settings.queue_retry_delay,
            retry_backoff=2,
            name=name,
            context=context,
        )(function)
        return wrapper

    def periodic(self, name: str, hours: float, function: Callable[[], Any]) -> Any:
        """Run ``function`` every ``hours`` (0: never), once per period across all processes."""
        seconds = hours * 3600

        def due(now: datetime) -> bool:
            # The scheduler checks once at start: leave that to the processes already running,
            # so that restarts (and short-lived test servers) do not each start a scrub.
            if seconds <= 0 or time.monotonic() - self._created < PERIODIC_GRACE:
                return False
            # huey passes naive UTC; periods count from the epoch so every process agrees.
            slot = int(calendar.timegm(now.utctimetuple()) // max(seconds, 60))
            claimed = bool(self.huey.storage.put_if_empty(f"periodic:{name}:{slot}", b"1"))
            if claimed:
                self.huey.storage.pop_data(f"periodic:{name}:{slot - 1}")
            return claimed

        return self.huey.periodic_task(due, name=name)(function)

    def every(self, name: str, seconds: float, function: Callable[[], Any]) -> None:
        """Call ``function`` every ``seconds`` (0: never) in each process that consumes, in a
        thread of its own: polls cheaper than a queued task and sooner than a periodic one
        (the webhook dispatcher). Several processes may run it at once; it must allow that."""
        if seconds > 0:
            self._loops.append((name, seconds, function))

    def _loop(self, name: str, seconds: float, function: Callable[[], Any]) -> None:
        while not self._stop.wait(seconds):
            try:
                function()
            except Exception:
                log.exception("%s: failed; trying again in %g s", name, seconds)

    def daily(self, name: str, at: dt_time | None, function: Callable[[], Any]) -> Any:
        """Run ``function`` once a day at ``at`` (UTC; None: never), once across all
        processes: the first to claim the day enqueues it."""

        def due(now: datetime) -> bool:
            if at is None or (now.hour, now.minute) != (at.hour, at.minute):
                return False
            return bool(self.huey.storage.put_if_empty(f"daily:{name}:{now:%Y-%m-%d}", b"1"))

        return self.huey.periodic_task(due, name=name)(function)

    # -- the runtime tasks use ------------------------------------------------------------------

    @property
    def runtime(self) -> Runtime:
        with self._runtime_lock:
            if self._runtime is None:
                self._runtime = Runtime(self.settings)
            return self._runtime

    # -- leases ---------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.now(UTC)

    def _expiry(self) -> datetime:
        return self._now() + timedelta(seconds=self.settings.queue_lease_seconds)

    def _acquire(self, task: Task) -> None:
        if isinstance(task, PeriodicTask):
            return  # the next period runs it again anyway
        message = base64.b64encode(self.huey.serialize_task(task)).decode()
        with self._held_lock:
            self._held.add(task.id)
        self.runtime.run(self._write_lease(task.id, task.name, message))

    async def _write_lease(self, task_id: str, name: str, message: str) -> None:
        now = self._now()
        async with self.runtime.db.transaction() as session:
            row = await session.scalar(select(QueueLease).where(QueueLease.task_id == task_id))
            if row is None:
                session.add(
                    QueueLease(
                        task_id=task_id,
                        name=name,
                        message=message,
                        state="running",
                        worker=self.worker_id,
                        attempts=0,
                        started_at=now,
                        expires_at=self._expiry(),
                    )
                )
            else:  # run again after its worker was lost
                row.state, row.worker, row.message = "running", self.worker_id, message
                row.started_at, row.expires_at = now, self._expiry()

    def _release(self, task: Task, _value: Any, _exception: BaseException | None) -> None:
        if isinstance(task, PeriodicTask):
            return
        with self._held_lock:
            self._held.discard(task.id)
        # On failure huey puts the task back itself (or gives up after the last retry).
        self.runtime.run(self._delete_lease(task.id))

    async def _delete_lease(self, task_id: str) -> None:
        async with self.runtime.db.transaction() as session:
            await session.execute(delete(QueueLease).where(QueueLease.task_id == task_id))

    async def _renew(self, task_ids: list[str]) -> None:
        if not task_ids:
            return
        async with self.runtime.db.transaction() as session:
            await session.execute(
                update(QueueLease)
                .where(QueueLease.task_id.in_(task_ids), QueueLease.worker == self.worker_id)
                .values(expires_at=self._expiry())
            )

    async def requeue_lost(self) -> list[str]:
        """Put back in the queue the running tasks whose worker stopped renewing their lease."""
        now = self._now()
        async with self.runtime.db.sessions() as session:
            lost = list(
                await session.scalars(
                    select(QueueLease).where(
                        QueueLease.state == "running", QueueLease.expires_at < now
                    )
                )
            )
        requeued = []
        for lease in lost:
            async with self.runtime.db.transaction() as session:
                claimed = await session.execute(
                    update(QueueLease)
                    .where(
                        QueueLease.task_id == lease.task_id,
                        QueueLease.state == "running",
                        QueueLease.expires_at == lease.expires_at,
                    )
                    .values(state="requeued", attempts=QueueLease.attempts + 1)
                )
                if claimed.rowcount != 1:  # type: ignore[attr-defined]
                    continue  # another process took it first
                if lease.attempts + 1 > self.settings.queue_retries:
                    await session.execute(
                        delete(QueueLease).where(QueueLease.task_id == lease.task_id)
                    )
                    log.error(
                        "task %s (%s) lost its worker %d times; giving up",
                        lease.name,
                        lease.task_id,
                        lease.attempts + 1,
                    )
                    continue
            task = self.huey.deserialize_task(base64.b64decode(lease.message))
            self.huey.enqueue(task)
            log.warning(
                "task %s (%s) lost its worker %s; queued again", lease.name, task.id, lease.worker
            )
            requeued.append(task.id)
        return requeued

    def _keep(self) -> None:
        interval = max(self.settings.queue_lease_seconds / 3, 0.2)
        while not self._stop.wait(interval):
            with self._held_lock:
                held = list(self._held)
            try:
                self.runtime.run(self._renew(held))
                self.runtime.run(self.requeue_lost())
            except Exception:
                log.exception("lease keeper: the database did not answer; trying again")

    # -- consumers ------------------------------------------------------------------------------

    def _consumer_for(self, workers: int, cls: type[Consumer]) -> Consumer:
        # SQLite is polled; short waits keep an idle queue responsive and a shutdown quick.
        return cls(self.huey, workers=workers, worker_type="thread", max_delay=1.0, periodic=True)

    def _start_keeper(self) -> None:
        self._stop.clear()
        self._keeper = threading.Thread(target=self._keep, name="pomona-lease-keeper", daemon=True)
        self._keeper.start()
        self._loop_threads = [
            threading.Thread(target=self._loop, args=loop, name=f"pomona-{loop[0]}", daemon=True)
            for loop in self._loops
        ]
        for thread in self._loop_threads:
            thread.start()

    def start(self, workers: int) -> None:
        """Run ``workers`` threads in this process (``pomona serve``); returns at once."""
        self._consumer = self._consumer_for(workers, _EmbeddedConsumer)
        self._consumer.start()
        self._start_keeper()

    def run(self, workers: int) -> None:
        """Process tasks until SIGINT/SIGTERM (``pomona worker``)."""
        self._consumer = self._consumer_for(workers, Consumer)
        self._start_keeper()
        try:
            self._consumer.run()
        finally:
            self.close()

    def close(self) -> None:
        """Stop consuming (letting running tasks finish) and release what this process holds."""
        if self._consumer is not None and not self._consumer.stop_flag.is_set():
            self._consumer.stop(graceful=True)
        self._consumer = None
        self._stop.set()
        if self._keeper is not None:
            self._keeper.join(timeout=10)
            self._keeper = None
        for thread in self._loop_threads:
            thread.join(timeout=10)
        self._loop_threads = []
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
        close = getattr(self.huey.storage, "close", None)
        if close is not None:
            close()
