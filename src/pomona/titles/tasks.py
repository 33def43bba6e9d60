"""The titles domain's queue task: a remote import, run as the job that asked for it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from huey.api import Task

from pomona.queue.service import Queue, QueuedTask

if TYPE_CHECKING:
    from pomona.container import Services


def register(queue: Queue, services: Callable[[], Services]) -> QueuedTask[[str]]:
    def import_remote(job_id: str, task: Task = None) -> None:
        """A ``titles.import-remote`` job."""
        from pomona.titles.lifecycle import run_remote_import

        found = services()
        queue.runtime.run(
            found.jobs.run(
                job_id,
                lambda job: run_remote_import(found.titles, found.settings, job),
                last_attempt=task.retries == 0,
            )
        )

    return queue.task_with_context("titles.import-remote", import_remote)
