"""The inbound domain's queue tasks: process a received webhook; and, periodically, process
what was stored but never queued (the queue was away) and drop deliveries past their keep."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pomona.queue.service import Queue, QueuedTask

if TYPE_CHECKING:
    from pomona.container import Services

log = logging.getLogger("pomona.tasks")

SWEEP_HOURS = 0.25  # how often stalled deliveries are looked for


@dataclass(frozen=True, slots=True)
class InboundTasks:
    process: QueuedTask[[int]]
    sweep: QueuedTask[[]]


def register(queue: Queue, services: Callable[[], Services]) -> InboundTasks:
    settings = queue.settings

    def process_webhook(delivery: int) -> dict[str, Any]:
        return queue.runtime.run(services().inbound.process(delivery))

    def sweep_webhooks() -> dict[str, Any]:
        inbound = services().inbound
        stalled = queue.runtime.run(inbound.stalled())
        for delivery in stalled:
            process(delivery)
        removed = queue.runtime.run(inbound.prune(settings.inbound_keep_days))
        log.info(
            "inbound sweep: %d stalled deliveries queued, %d old removed", len(stalled), removed
        )
        return {"queued": stalled, "removed": removed}

    process = queue.task("inbound.process", process_webhook)
    sweep = queue.task("inbound.sweep", sweep_webhooks)

    def sweep_now() -> None:
        sweep()

    queue.periodic("inbound.sweep.periodic", SWEEP_HOURS, sweep_now)
    return InboundTasks(process, sweep)
