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
PER_TASK = 10


@dataclass(frozen=True, slots=True)
class EventTasks:
    deliver: QueuedTask[[list[int]]]
    prune: QueuedTask[[]]


def register(queue: Queue, services: Callable[[], Services]) -> EventTasks:
    settings = queue.settings

    def deliver_webhooks(delivery_pks: list[int]) -> list[str]:
        outcomes = queue.runtime.run(services().webhooks.sender.send_many(delivery_pks))
        for delivery_pk, outcome in zip(delivery_pks, outcomes, strict=True):
            log.info("webhook delivery %d: %s", delivery_pk, outcome)
        return outcomes

    def dispatch_webhooks() -> None:
        due = queue.runtime.run(services().webhooks.dispatcher.pump())
        # A task per few deliveries, sent together: a task per delivery would cost the queue
        # more than the requests themselves.
        for start in range(0, len(due), PER_TASK):
            deliver(due[start : start + PER_TASK])

    def prune_events() -> dict[str, Any]:
        removed = queue.runtime.run(services().events.prune(settings.events_retention_days))
        log.info("events: %d older than %d days pruned", removed, settings.events_retention_days)
        return {"removed": removed}

    deliver = queue.task("webhooks.deliver", deliver_webhooks)
    prune = queue.task("events.prune", prune_events)
    queue.every("webhooks.dispatch", settings.webhook_poll_seconds, dispatch_webhooks)

    # As the package store's periodic tasks do: the schedule only enqueues the real task.
    def prune_now() -> None:
        prune()

    queue.periodic("events.prune.periodic", PRUNE_HOURS, prune_now)
    return EventTasks(deliver, prune)
