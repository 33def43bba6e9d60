"""The subscriptions domain's queue tasks: a check as a job (on demand), a check without one
(the schedule), subscribing to many titles of another source (a job), and the periodic scan
that queues the checks that are due."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from huey.api import Task

from pomona.queue.service import Queue, QueuedTask
from pomona.subscriptions.services import CHECK, SUBSCRIBE_REMOTE

if TYPE_CHECKING:
    from pomona.container import Services

log = logging.getLogger("pomona.tasks")


@dataclass(frozen=True, slots=True)
class SubscriptionTasks:
    check: QueuedTask[[str]]  # a job's id
    sync: QueuedTask[[int]]  # a subscription's id
    subscribe_remote: QueuedTask[[str]]  # a job's id
    scan: QueuedTask[[]]


def register(queue: Queue, services: Callable[[], Services]) -> SubscriptionTasks:
    settings = queue.settings

    def run_job(job_id: str, kind: str, task: Task) -> None:
        found = services()
        work = (
            found.subscriptions.check_job if kind == CHECK else found.subscriptions.subscribe_remote
        )
        queue.runtime.run(found.jobs.run(job_id, work, last_attempt=task.retries == 0))

    def check_job(job_id: str, task: Task = None) -> None:
        """A ``subscriptions.check`` job."""
        run_job(job_id, CHECK, task)

    def subscribe_job(job_id: str, task: Task = None) -> None:
        """A ``subscriptions.subscribe-remote`` job."""
        run_job(job_id, SUBSCRIBE_REMOTE, task)

    def sync_one(pk: int) -> dict[str, object]:
        """A scheduled check; its outcome is on the subscription (and in its events)."""
        report = queue.runtime.run(services().subscriptions.check(pk))
        log.info("subscription %d (%s): %s", pk, report.title_id, report.outcome)
        return {"outcome": report.outcome}

    sync = queue.task("subscriptions.sync", sync_one)

    def scan_due() -> list[int]:
        claimed = queue.runtime.run(
            services().subscriptions.claim_due(settings.subscription_scan_batch)
        )
        for pk in claimed:
            sync(pk)
        return claimed

    scan = queue.task("subscriptions.scan", scan_due)

    def scan_now() -> None:
        scan()

    queue.periodic(
        "subscriptions.scan.periodic", settings.subscription_scan_seconds / 3600, scan_now
    )
    return SubscriptionTasks(
        check=queue.task_with_context(CHECK, check_job),
        sync=sync,
        subscribe_remote=queue.task_with_context(SUBSCRIBE_REMOTE, subscribe_job),
        scan=scan,
    )
