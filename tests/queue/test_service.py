"""One contract for the job queue, embedded (SQLite, threads in `pomona serve`) and with Redis
(two `pomona worker` processes): tasks run, failures are retried with a growing delay, a task
whose worker is killed mid-way is run again by another, and periodic work is claimed once."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest

from pomona.queue.service import PERIODIC_GRACE
from pomona.settings import Settings
from pomona.tasks import build_queue
from tests.queue.conftest import Harness, wait_for

pytestmark = pytest.mark.slow


def test_task_runs_and_answers(harness: Harness) -> None:
    token = uuid.uuid4().hex
    result = harness.tasks.probe(token)
    value = result.get(blocking=True, timeout=30)
    assert value["token"] == token
    assert value["attempt"] == 0
    assert harness.leases() == []  # released when done


def test_failures_are_retried_with_backoff(harness: Harness) -> None:
    started = time.monotonic()
    value = harness.tasks.probe("flaky", fail=2).get(blocking=True, timeout=30)
    assert value["attempt"] == 2
    # Retry delays of 0.5 s then 1 s: the third attempt cannot come before 1.5 s.
    assert time.monotonic() - started >= 1.5


def test_work_is_shared_and_all_done(harness: Harness) -> None:
    results = [harness.tasks.probe(f"t{i}", seconds=0.3) for i in range(8)]
    values = [r.get(blocking=True, timeout=60) for r in results]
    assert sorted(v["token"] for v in values) == sorted(f"t{i}" for i in range(8))
    workers = {v["worker"] for v in values}
    assert len(workers) == (2 if harness.kind == "redis" else 1)


def test_task_killed_midway_is_run_again(harness: Harness) -> None:
    result = harness.tasks.probe("long", seconds=4)
    lease = wait_for(
        lambda: [x for x in harness.leases() if x.state == "running"], 30, "the task to start"
    )[0]
    harness.kill(lease.worker)  # SIGKILL: no cleanup, no goodbye
    if harness.kind == "embedded":
        harness.start_consumer()  # the server comes back, as a supervisor would restart it
    value = result.get(blocking=True, timeout=60)
    assert value["token"] == "long"
    assert value["worker"] != lease.worker
    wait_for(lambda: harness.leases() == [], 10, "the lease to be released")
    assert "lost its worker" in harness.output()


def test_periodic_work_claimed_once(harness: Harness) -> None:
    settings = harness.tasks.queue.settings
    other = build_queue(Settings(**{**settings.model_dump(), "package_scrub_hours": 1}))
    mine = build_queue(Settings(**{**settings.model_dump(), "package_scrub_hours": 1}))
    try:
        for tasks in (mine, other):
            tasks.queue._created -= PERIODIC_GRACE  # as if running for a while
        now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC).replace(tzinfo=None)
        due = [
            next(
                t for t in q.queue.huey._registry.periodic_tasks if t.name.startswith("packages.s")
            )
            for q in (mine, other)
        ]
        assert [d.validate_datetime(now) for d in due] == [True, False]
        assert [d.validate_datetime(now) for d in due] == [False, False]  # same hour
    finally:
        other.close()
        mine.close()
