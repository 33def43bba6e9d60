"""The titles domain's queue task: a remote import, run as the job that asked for it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from huey.api import Task

from pomona.queue.service import Queue, QueuedTask

if TYPE_CHECKING:
    from pomona.container import Services

# The kind of the job a remote import runs as, and the name of its task.
REMOTE_IMPORT = "titles.import-remote"


def register(queue: Queue, services: Callable[[], Services]) -> QueuedTask[[str]]:
    def import_remote(job_id: str, task: Task = None) -> None:
        """A ``titles.import-remote`` job."""
        found = services()
        queue.runtime.run(
            found.jobs.run(
                job_id,
                lambda job: found.titles.import_remote(job, found.settings),
                last_attempt=task.retries == 0,
            )
        )

    return queue.task_with_context(REMOTE_IMPORT, import_remote)
