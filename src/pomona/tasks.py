"""Pomona's background tasks, registered on a queue built from settings.

``build_queue(settings)`` is the one way to get a queue: the web process uses it to enqueue (and,
embedded, to run tasks in threads), ``pomona worker`` to run them. Every task is idempotent:
running it twice, or again after its worker died half way, leaves the same result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from huey.api import Task

from pomona.packages.service import PackageService, build_storage
from pomona.queue.jobs import JobService
from pomona.queue.service import Queue
from pomona.settings import Settings
from pomona.titles.lifecycle import run_remote_import
from pomona.titles.service import TitleService

log = logging.getLogger("pomona.tasks")


@dataclass
class Tasks:
    """The queue and its tasks; calling a task enqueues it and returns a huey result handle."""

    queue: Queue
    scrub: Any
    cleanup: Any
    finalise: Any
    probe: Any
    import_remote: Any

    def close(self) -> None:
        self.queue.close()


def build_queue(
    settings: Settings,
    *,
    check_tables: bool = True,
    on_titles_change: Callable[[], None] | None = None,
) -> Tasks:
    """The queue and its tasks. ``on_titles_change`` is the embedding process's feed
    invalidation, so titles written by its own consumer threads show on its feed at once."""
    queue = Queue(settings, check_tables=check_tables)

    def packages() -> PackageService:
        """The package service of this process's task runtime, built on first use."""
        state = queue.runtime.state
        if "packages" not in state:
            state["packages"] = PackageService(
                queue.runtime.db, build_storage(settings), settings, enqueue=finalise
            )
        return state["packages"]  # type: ignore[no-any-return]

    def titles() -> TitleService:
        """The title service of this process's task runtime. Other processes' feeds see its
        writes within ``feed_refresh_seconds``; this process's own feed at once."""
        state = queue.runtime.state
        if "titles" not in state:
            state["titles"] = TitleService(queue.runtime.db, on_change=on_titles_change)
        return state["titles"]  # type: ignore[no-any-return]

    def import_remote(job_id: str, task: Task = None) -> None:
        """A ``titles.import-remote`` job (``POST /api/v1/imports/remote``)."""
        jobs = JobService(queue.runtime.db)
        queue.runtime.run(
            jobs.run(
                job_id,
                lambda job: run_remote_import(titles(), settings, job),
                last_attempt=task.retries == 0,
            )
        )

    def scrub_packages() -> dict[str, Any]:
        report = queue.runtime.run(packages().scrub())
        log.info(
            "scrub: %d stored files checked (%d bytes), %d quarantined",
            report.checked,
            report.bytes,
            len(report.quarantined),
        )
        return report.as_dict()

    def cleanup_packages() -> dict[str, Any]:
        report = queue.runtime.run(packages().cleanup())
        for pending_id in report.stalled:
            finalise(pending_id)  # its task gave up (storage down for long): try again
        log.info("cleanup: %s", report)
        return {"removed": report.removed_keys, "stalled": report.stalled}

    def finalise_package(pending_id: str) -> None:
        queue.runtime.run(packages().finalise(pending_id))

    def probe_queue(token: str, seconds: float = 0.0, fail: int = 0, task: Task = None) -> Any:
        """A diagnostic task: waits ``seconds``, fails its first ``fail`` attempts, and says
        which worker ran it."""
        attempt = settings.queue_retries - task.retries
        if attempt < fail:
            raise RuntimeError(f"probe {token}: failing attempt {attempt} as asked")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.05)
        return {"token": token, "worker": queue.worker_id, "attempt": attempt}

    scrub_task = queue.task("packages.scrub", scrub_packages)
    cleanup_task = queue.task("packages.cleanup", cleanup_packages)

    # The periodic tasks only enqueue the real ones, which then hold a lease and are retried.
    def scrub_now() -> None:
        scrub_task()

    def cleanup_now() -> None:
        cleanup_task()

    queue.periodic("packages.scrub.periodic", settings.package_scrub_hours, scrub_now)
    queue.periodic("packages.cleanup.periodic", settings.package_cleanup_hours, cleanup_now)
    finalise = queue.task("packages.finalise", finalise_package)
    probe = queue.task("queue.probe", probe_queue, context=True)
    remote = queue.task("titles.import-remote", import_remote, context=True)
    return Tasks(queue, scrub_task, cleanup_task, finalise, probe, remote)
