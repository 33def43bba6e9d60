"""Prometheus metrics of a process, added up across the processes of ``pomona serve``.

prometheus-client's multiprocess mode keeps each process's values in memory-mapped files in the
directory named by ``PROMETHEUS_MULTIPROC_DIR``, and whichever process answers ``/metrics`` reads
them all, so the figures are the sum of every worker. The mode is fixed when prometheus-client is
first imported, so ``multiprocess.prepare`` sets the variable in the parent (``servers.py``)
before any worker starts; a single in-process server keeps its values in memory.

The values live as long as the process, and a process has one set of them (two ``Counter`` objects
of one name in one process would overwrite each other's file entries): :func:`metrics` builds
them on first use, never at import.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from pomona.ops.multiprocess import ENV

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Seconds. The feed answers in well under a millisecond; downloads and uploads take minutes.
HTTP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60)
JOB_BUCKETS = (0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
FLUSH_SECONDS = 1.0
UNMATCHED = "unmatched"  # requests no route took: their paths would make a label per scanner probe


class QueueDepth(Collector):
    """The job queue's depth, read when scraped: it is one figure for all processes, so it is
    not added up across them."""

    def __init__(self) -> None:
        self.queues: list[Any] = []  # pomona.queue.service.Queue; typed loosely to stay light

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pending = GaugeMetricFamily(
            "pomona_queue_pending", "Tasks waiting in the job queue", labels=["queue"]
        )
        scheduled = GaugeMetricFamily(
            "pomona_queue_scheduled",
            "Tasks scheduled for later (retries waiting their delay)",
            labels=["queue"],
        )
        for queue in list(self.queues):
            try:
                pending.add_metric([queue.huey.name], queue.huey.pending_count())
                scheduled.add_metric([queue.huey.name], queue.huey.scheduled_count())
            except Exception:  # noqa: S112 - an unreachable queue shows on /readyz, not here
                continue
        yield pending
        yield scheduled


class _Tally:
    """The requests of one (method, route, status) counted since the last flush."""

    __slots__ = ("buckets", "count", "seconds", "sent")

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.sent = 0
        self.buckets = [0] * (len(HTTP_BUCKETS) + 1)  # the last one is +Inf

    def clear(self) -> None:
        self.count, self.seconds, self.sent = 0, 0.0, 0
        self.buckets = [0] * (len(HTTP_BUCKETS) + 1)


class Metrics:
    """Every metric of the process."""

    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get(ENV))
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "pomona_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.duration = Histogram(
            "pomona_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by route template",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )
        self.sent = Counter(
            "pomona_http_response_bytes", "Bytes of answer bodies sent", ["route"], registry=r
        )
        self.received = Counter(
            "pomona_http_request_bytes", "Bytes of request bodies read", ["route"], registry=r
        )
        self.package_bytes = Counter(
            "pomona_package_bytes_served",
            "Bytes of packages sent from /Packages/ and the API's download route",
            registry=r,
        )
        self.uploads = Counter(
            "pomona_package_upload_requests",
            "Package upload requests (plain PUT, tus PATCH), by protocol and status",
            ["protocol", "status"],
            registry=r,
        )
        self.jobs = Histogram(
            "pomona_job_duration_seconds",
            "Time a queued task ran, by task and outcome (succeeded, failed)",
            ["task", "outcome"],
            buckets=JOB_BUCKETS,
            registry=r,
        )
        self.queue_depth = QueueDepth()
        if not self.multiprocess:
            r.register(self.queue_depth)
        self._tallies: dict[tuple[str, str, int], _Tally] = {}
        self._children: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}
        self._started: dict[str, float] = {}

    def request(
        self, method: str, route: str, status: int, seconds: float, sent: int, received: int
    ) -> None:
        """Count one answered request. On the Jamf feed's path: it adds to plain numbers,
        which :meth:`flush` moves into the metrics (measured on this code: incrementing
        prometheus-client's shared-memory values on each request cost 3-4 times what the
        feed's own answer costs)."""
        key = (method, route, status)
        tally = self._tallies.get(key)
        if tally is None:
            tally = self._tallies[key] = _Tally()
        tally.count += 1
        tally.seconds += seconds
        tally.sent += sent
        tally.buckets[bisect_left(HTTP_BUCKETS, seconds)] += 1
        if received:
            self.received.labels(route).inc(received)
        if method == "PATCH" and route.startswith("/api/v1/uploads/"):
            self.uploads.labels("tus", str(status)).inc()
        elif method == "PUT" and route == "/api/v1/packages/{filename}":
            self.uploads.labels("put", str(status)).inc()

    def flush(self) -> None:
        """Move the counted requests into the metrics. Called on the event loop that counts
        them (every ``FLUSH_SECONDS`` by :meth:`flushing`, and before each exposition)."""
        for key, tally in self._tallies.items():
            if not tally.count:
                continue
            method, route, status = key
            children = self._children.get(key)
            if children is None:
                shown = method if method in METHODS else "other"
                children = self._children[key] = (
                    self.requests.labels(shown, route, str(status)),
                    self.duration.labels(shown, route),
                    self.sent.labels(route),
                )
            count, duration, sent = children
            count.inc(tally.count)
            # A histogram takes one observation at a time; these are its sum and its
            # (non-cumulative) buckets, which it adds up when collected.
            duration._sum.inc(tally.seconds)
            for index, hits in enumerate(tally.buckets):
                if hits:
                    duration._buckets[index].inc(hits)
            if tally.sent:
                sent.inc(tally.sent)
                if route.startswith("/Packages/") or route.endswith("/download"):
                    self.package_bytes.inc(tally.sent)
            tally.clear()

    async def flushing(self) -> None:
        """Flush every ``FLUSH_SECONDS`` until cancelled (the application's lifespan runs it),
        so that another process answering ``/metrics`` sees this one's counts."""
        try:
            while True:
                await asyncio.sleep(FLUSH_SECONDS)
                self.flush()
        finally:
            self.flush()

    # -- the job queue ------------------------------------------------------------------------

    def watch(self, queue: Any) -> None:
        """Time the tasks ``queue`` (a :class:`pomona.queue.service.Queue`) runs in this process,
        and report its depth."""
        from huey.signals import SIGNAL_COMPLETE, SIGNAL_ERROR, SIGNAL_EXECUTING

        outcomes = {SIGNAL_COMPLETE: "succeeded", SIGNAL_ERROR: "failed"}

        def started(_signal: str, task: Any, *_: Any) -> None:
            self._started[task.id] = time.perf_counter()

        def ended(signal: str, task: Any, *_: Any) -> None:
            began = self._started.pop(task.id, None)
            if began is not None:
                outcome = outcomes[signal]
                self.jobs.labels(task.name, outcome).observe(time.perf_counter() - began)

        queue.huey.signal(SIGNAL_EXECUTING)(started)
        queue.huey.signal(SIGNAL_COMPLETE, SIGNAL_ERROR)(ended)
        self.queue_depth.queues.append(queue)

    def unwatch(self, queue: Any) -> None:
        if queue in self.queue_depth.queues:
            self.queue_depth.queues.remove(queue)

    # -- the exposition -----------------------------------------------------------------------

    def exposition(self) -> bytes:
        """The text format, every process's values added up. Reads files: call it in a thread,
        after :meth:`flush` on the event loop."""
        if not self.multiprocess:
            return generate_latest(self.registry)
        registry = CollectorRegistry(auto_describe=True)
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(self.queue_depth)
        return generate_latest(registry)


_lock = threading.Lock()
_metrics: Metrics | None = None


def metrics() -> Metrics:
    """The process's metrics, built on first use."""
    global _metrics
    with _lock:
        if _metrics is None:
            _metrics = Metrics()
        return _metrics
