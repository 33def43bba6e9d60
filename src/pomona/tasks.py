"""Pomona's background tasks, registered on a queue built from settings.

``build_queue(settings)`` is the one way to get a queue: the web process uses it to enqueue (and,
embedded, to run tasks in threads), ``pomona worker`` to run them. Each domain declares its own
tasks in its ``tasks.py``; this module puts them on one queue. Every task is idempotent: running
it twice, or again after its worker died half way, leaves the same result.

Importing this module loads no web framework: a worker process is the services and the queue.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from pomona.accounts import tasks as account_tasks
from pomona.container import Services, build_services
from pomona.events import tasks as event_tasks
from pomona.inbound import tasks as inbound_tasks
from pomona.jamf import tasks as jamf_tasks
from pomona.notifications import tasks as notification_tasks
from pomona.ops import tasks as ops_tasks
from pomona.packages import tasks as package_tasks
from pomona.queue import tasks as queue_tasks
from pomona.queue.service import Queue, QueuedTask
from pomona.replication import tasks as replication_tasks
from pomona.settings import Settings
from pomona.subscriptions import tasks as subscription_tasks
from pomona.titles import tasks as title_tasks


@dataclass(frozen=True, slots=True)
class Tasks:
    """The queue and its tasks; calling a task enqueues it and returns a result handle."""

    queue: Queue
    scrub: QueuedTask[[]]
    cleanup: QueuedTask[[]]
    finalise: QueuedTask[[str]]
    probe: queue_tasks.Probe
    import_remote: QueuedTask[[str]]
    backup: QueuedTask[[]]
    mail: QueuedTask[[str, str, str]]
    inbound_process: QueuedTask[[int]]
    inbound_sweep: QueuedTask[[]]
    notifications_dispatch: QueuedTask[[]]
    notifications_send: QueuedTask[[int]]
    subscriptions: subscription_tasks.SubscriptionTasks
    events: event_tasks.EventTasks
    replication: replication_tasks.ReplicationTasks
    jamf: QueuedTask[[str]]
    jamf_rules: QueuedTask[[]]

    def close(self) -> None:
        self.queue.close()


class _TaskServices:
    """The services tasks use, built on first use on the queue's task loop (its own engine),
    the same way the web process builds its own."""

    def __init__(
        self, settings: Settings, queue: Queue, on_titles_change: Callable[[], None] | None
    ) -> None:
        self._settings, self._queue, self._on_titles_change = settings, queue, on_titles_change
        self._lock = threading.Lock()
        self._built: Services | None = None
        self.tasks: Tasks | None = None

    async def _titles_changed(self) -> None:
        # The listener is the web process's feed, on another thread's event loop: it is only
        # told, and reloads on its next request.
        if self._on_titles_change is not None:
            self._on_titles_change()

    def __call__(self) -> Services:
        with self._lock:
            if self._built is None:
                assert self.tasks is not None, "tasks run only once the queue is built"
                self._built = build_services(
                    self._settings,
                    self._queue.runtime.db,
                    self.tasks,
                    on_titles_change=self._titles_changed,
                )
            return self._built


def build_queue(
    settings: Settings,
    *,
    check_tables: bool = True,
    on_titles_change: Callable[[], None] | None = None,
) -> Tasks:
    """The queue and its tasks. ``on_titles_change`` is the embedding process's feed
    invalidation, so titles written by its own consumer threads show on its feed at once."""
    queue = Queue(settings, check_tables=check_tables)
    services = _TaskServices(settings, queue, on_titles_change)
    packages = package_tasks.register(queue, services)
    inbound = inbound_tasks.register(queue, services)
    notifications = notification_tasks.register(queue, services)
    jamf = jamf_tasks.register(queue, services)
    tasks = Tasks(
        queue=queue,
        scrub=packages.scrub,
        cleanup=packages.cleanup,
        finalise=packages.finalise,
        probe=queue_tasks.register(queue),
        import_remote=title_tasks.register(queue, services),
        backup=ops_tasks.register(queue, services),
        mail=account_tasks.register(queue),
        inbound_process=inbound.process,
        inbound_sweep=inbound.sweep,
        notifications_dispatch=notifications.dispatch,
        notifications_send=notifications.send,
        subscriptions=subscription_tasks.register(queue, services),
        events=event_tasks.register(queue, services),
        replication=replication_tasks.register(queue, services),
        jamf=jamf.run,
        jamf_rules=jamf.rules,
    )
    services.tasks = tasks
    return tasks
