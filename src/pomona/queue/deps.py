"""Typed FastAPI dependencies of the queue domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from pomona.deps import ServicesDep
from pomona.queue.jobs import JobService
from pomona.tasks import Tasks


def job_service(found: ServicesDep) -> JobService:
    return found.jobs


def tasks(found: ServicesDep) -> Tasks:
    return found.tasks


Jobs = Annotated[JobService, Depends(job_service)]
QueueTasks = Annotated[Tasks, Depends(tasks)]
