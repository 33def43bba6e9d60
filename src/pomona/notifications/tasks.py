"""The notifications domain's queue tasks: the periodic dispatcher, which queues one send
task per immediate mail and then the digests due."""

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
class NotificationTasks:
    dispatch: QueuedTask[[]]
    send: QueuedTask[[int]]


def register(queue: Queue, services: Callable[[], Services]) -> NotificationTasks:
    settings = queue.settings

    def dispatch_notifications() -> dict[str, Any]:
        notifications = services().notifications
        found = queue.runtime.run(notifications.dispatch())
        for delivery in found.immediate:
            send(delivery)
        digests = queue.runtime.run(notifications.digests())
        if found.read:
            log.info(
                "notifications: %d events read, %d deliveries, %d mailed now, %d digests",
                found.read,
                found.recorded,
                len(found.immediate),
                digests["digests"],
            )
        return {"read": found.read, "immediate": found.immediate, **digests}

    def send_notification(delivery: int) -> dict[str, Any]:
        return queue.runtime.run(services().notifications.send(delivery))

    dispatch = queue.task("notifications.dispatch", dispatch_notifications)
    send = queue.task("notifications.send", send_notification)

    def dispatch_now() -> None:
        dispatch()

    queue.periodic(
        "notifications.dispatch.periodic",
        settings.notification_dispatch_minutes / 60,
        dispatch_now,
    )
    return NotificationTasks(dispatch, send)
