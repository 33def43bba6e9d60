"""The operations domain's queue task: the daily backup."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pomona.ops.backups import backup_time
from pomona.queue.service import Queue, QueuedTask

if TYPE_CHECKING:
    from pomona.container import Services

log = logging.getLogger("pomona.tasks")


def register(queue: Queue, services: Callable[[], Services]) -> QueuedTask[[]]:
    settings = queue.settings

    def back_up() -> dict[str, Any]:
        made = queue.runtime.run(services().backups.make())
        return made.as_dict()

    backup = queue.task("ops.backup", back_up)

    # As the package store's periodic tasks do: the schedule only enqueues the real task, which
    # then holds a lease and is retried.
    def backup_now() -> None:
        backup()

    at = backup_time(settings.backup_time) if settings.backup_time else None
    queue.daily("ops.backup.daily", at, backup_now)
    return backup
