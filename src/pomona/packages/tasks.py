"""The package store's queue tasks: store a verified upload remotely, clean up, scrub."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pomona.queue.service import Queue, QueuedTask

if TYPE_CHECKING:
    from pomona.container import Services

log = logging.getLogger("pomona.tasks")


@dataclass(frozen=True, slots=True)
class PackageTasks:
    finalise: QueuedTask[[str]]
    scrub: QueuedTask[[]]
    cleanup: QueuedTask[[]]


def register(queue: Queue, services: Callable[[], Services]) -> PackageTasks:
    settings = queue.settings

    def finalise_package(pending_id: str) -> None:
        queue.runtime.run(services().packages.publisher.finalise(pending_id))

    def scrub_packages() -> dict[str, Any]:
        report = queue.runtime.run(services().packages.maintenance.scrub())
        log.info(
            "scrub: %d stored files checked (%d bytes), %d quarantined",
            report.checked,
            report.bytes,
            len(report.quarantined),
        )
        return report.as_dict()

    def cleanup_packages() -> dict[str, Any]:
        report = queue.runtime.run(services().packages.maintenance.cleanup())
        for pending_id in report.stalled:
            finalise(pending_id)  # its task gave up (storage down for long): try again
        log.info("cleanup: %s", report)
        return {"removed": report.removed_keys, "stalled": report.stalled}

    finalise = queue.task("packages.finalise", finalise_package)
    scrub = queue.task("packages.scrub", scrub_packages)
    cleanup = queue.task("packages.cleanup", cleanup_packages)

    # The periodic tasks only enqueue the real ones, which then hold a lease and are retried.
    def scrub_now() -> None:
        scrub()

    def cleanup_now() -> None:
        cleanup()

    queue.periodic("packages.scrub.periodic", settings.package_scrub_hours, scrub_now)
    queue.periodic("packages.cleanup.periodic", settings.package_cleanup_hours, cleanup_now)
    return PackageTasks(finalise, scrub, cleanup)
