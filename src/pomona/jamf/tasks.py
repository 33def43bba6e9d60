"""The Jamf Pro companion's queue tasks: any of its jobs (a push, a check, a removal, connect
and disconnect), and the periodic run of the push rules."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from huey.api import Task

from pomona.queue.service import Queue, QueuedTask

if TYPE_CHECKING:
    from pomona.container import Services

log = logging.getLogger("pomona.tasks")


@dataclass(frozen=True, slots=True)
class JamfTasks:
    run: QueuedTask[[str]]
    rules: QueuedTask[[]]


def register(queue: Queue, services: Callable[[], Services]) -> JamfTasks:
    def run_job(job_id: str, task: Task = None) -> None:
        """A ``jamf.*`` job, as the one who asked for it."""
        found = services()
        queue.runtime.run(found.jobs.run(job_id, found.jamf.run, last_attempt=task.retries == 0))

    def apply_rules() -> None:
        started = queue.runtime.run(services().jamf.rules.apply())
        if started:
            log.info("jamf rules: %d pushes queued", len(started))

    run = queue.task_with_context("jamf.run", run_job)
    rules = queue.task("jamf.rules", apply_rules)

    def rules_now() -> None:
        rules()

    queue.periodic("jamf.rules.periodic", queue.settings.jamf_rules_minutes / 60, rules_now)
    return JamfTasks(run, rules)
