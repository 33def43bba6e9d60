"""The events the job queue emits: a job that failed."""

from __future__ import annotations

from pydantic import BaseModel, Field

from pomona.events.types import EventType


class JobFailure(BaseModel):
    """A job and the error it ended with."""

    id: str = Field(description="The job's id (as the jobs API knows it).")
    kind: str = Field(description="What the job did, e.g. `titles.import-remote`.")
    errorKind: str = Field(description="The kind of error: `invalid`, `not_found`, `internal`...")
    message: str = Field(description="The first problem's message.")
    code: str | None = Field(None, description="The first problem's stable code, if it has one.")


FAILED = EventType("job.failed", "A background job failed.", JobFailure)

TYPES = (FAILED,)
