"""The events domain's queue work: webhook deliveries, the dispatcher's poll, the prune."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pomona.queue.service import Queue, QueuedTask

if TYPE_CHECKING:
    from pomona.container import Services

log = logging.getLogger("pomona.webhooks")

PRUNE_HOURS = 6.0


@dataclass(frozen=True, slots=True)
class EventTasks:
    deliver: QueuedTask[[int]]
    prune: QueuedTask[[]]


def register(queue: Queue, services: Callable[[], Services]) -> EventTasks:
    settings = queue.settings

    def deliver_webhook(delivery_pk: int) -> str:
        outcome = queue.runtime.run(services().webhooks.sender.send(delivery_pk))
        log.info("webhook delivery %d: %s", delivery_pk, outcome)
        return outcome

    def dispatch_webhooks() -> None:
        for delivery_pk in queue.runtime.run(services().webhooks.dispatcher.pump()):
            deliver(delivery_pk)

    def prune_events() -> dict[str, Any]:
        removed = queue.runtime.run(services().events.prune(settings.events_retention_days))
        log.info("events: %d older than %d days pruned", removed, settings.events_retention_days)
        return {"removed": removed}

    deliver = queue.task("webhooks.deliver", deliver_webhook)
    prune = queue.task("events.prune", prune_events)
    queue.every("webhooks.dispatch", settings.webhook_poll_seconds, dispatch_webhooks)

    # As the package store's periodic tasks do: the schedule only enqueues the real task.
    def prune_now() -> None:
        prune()

    queue.periodic("events.prune.periodic", PRUNE_HOURS, prune_now)
    return EventTasks(deliver, prune)
