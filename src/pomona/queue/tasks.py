"""The queue's own task: a probe that checks workers run, retry and report."""

from __future__ import annotations

import time
from typing import Any

from huey.api import Task

from pomona.queue.service import Queue, QueuedTask


def register(queue: Queue) -> Probe:
    settings = queue.settings

    def probe_queue(token: str, seconds: float = 0.0, fail: int = 0, task: Task = None) -> Any:
        """Waits ``seconds``, fails its first ``fail`` attempts, and says which worker ran it."""
        attempt = settings.queue_retries - task.retries
        if attempt < fail:
            raise RuntimeError(f"probe {token}: failing attempt {attempt} as asked")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.05)
        return {"token": token, "worker": queue.worker_id, "attempt": attempt}

    return queue.task_with_context("queue.probe", probe_queue)


# Its arguments are checked by the function itself: token, then seconds and fail by keyword.
Probe = QueuedTask[...]
