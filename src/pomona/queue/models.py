"""The queue's tables: leases of running tasks, and jobs.

Leases:

huey removes a task from its queue when a worker takes it, so a worker that dies mid-task (killed,
out of memory, machine lost) would lose it. Each running task therefore holds a lease row here,
renewed by its process while it lives; a lease that runs out names a task whose worker is gone,
and another worker puts the task back in the queue (tasks are idempotent, so running one again
is safe).

Jobs: work a client asked for and follows by id through the API, whatever the domain: its
status, timestamps, and its report or errors. They live in the database, not in the queue's
storage, so any web process can answer for a job any worker ran.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pomona.db import Base, LongText, UtcDateTime


class QueueLease(Base):
    __tablename__ = "queue_leases"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(LongText)  # the huey message, base64
    state: Mapped[str] = mapped_column(String(16))  # running | requeued
    worker: Mapped[str] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer)  # times requeued after a lost worker
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class Job(Base):
    __tablename__ = "jobs"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)  # the task, e.g. titles.import-remote
    status: Mapped[str] = mapped_column(String(16))  # queued | running | succeeded | failed
    actor: Mapped[str] = mapped_column(String(255))  # who asked: the audit log's actor
    client: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The asker's rights when it asked (scopes, title limits): the task acts with no more.
    rights: Mapped[str] = mapped_column(LongText)
    params: Mapped[str] = mapped_column(LongText)  # what was asked, JSON
    result: Mapped[str | None] = mapped_column(LongText, nullable=True)  # the report, JSON
    # How it failed: a kind of domain error (not_found, invalid...); its problems carry codes.
    error_kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    errors: Mapped[str | None] = mapped_column(LongText, nullable=True)  # problems, JSON
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


__all__ = ["Job", "QueueLease"]
