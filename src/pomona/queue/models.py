"""Leases of running tasks.

huey removes a task from its queue when a worker takes it, so a worker that dies mid-task (killed,
out of memory, machine lost) would lose it. Each running task therefore holds a lease row here,
renewed by its process while it lives; a lease that runs out names a task whose worker is gone,
and another worker puts the task back in the queue (tasks are idempotent, so running one again
is safe).
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


__all__ = ["QueueLease"]
