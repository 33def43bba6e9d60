"""Sending one delivery: one attempt, logged, and what it means for the next.

* Only a 2xx answer delivers. A 3xx is a failure (redirects are never followed), and so is no
  answer within ``webhook_timeout_seconds``.
* 410 Gone disables the endpoint at once; 429, 502, 503 and 504 wait as ``Retry-After`` says.
* Otherwise the next attempt follows :data:`SCHEDULE` (times ``webhook_retry_scale``, with
  jitter); after the last the delivery has failed. An endpoint whose attempts have all failed
  for ``webhook_disable_after_hours`` is disabled.

A sender holds the delivery while it sends (``held_until``, claimed by a conditional UPDATE), so
two tasks for one delivery send it once; if its worker dies, the hold runs out and the
dispatcher queues it again: delivery is at least once, and ``webhook-id`` (the event's id) lets
receivers drop a repeat.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from sqlalchemy import or_, select, update

from pomona import __version__
from pomona.db import Database
from pomona.events import signing
from pomona.events.endpoints import disable, fetch_policy
from pomona.events.messages import render
from pomona.events.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from pomona.events.service import EventView
from pomona.net import Answer, FetchError, post
from pomona.settings import Settings

# Seconds before each attempt: the first at once, then over about three days.
SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
SLOW_DOWN = frozenset({429, 502, 503, 504})
RETRY_AFTER_MAX = 86400.0
EXCERPT = 1024

# The definition a PatchServer-style endpoint sends with a new title: (title id, revision).
Definitions = Callable[[str, int], Awaitable[dict[str, Any] | None]]


def retry_after(answer: Answer | None, now: datetime) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date) on a slow-down answer."""
    if answer is None or answer.status not in SLOW_DOWN:
        return None
    value = answer.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value) if value.replace(".", "", 1).isdigit() else None
        if seconds is None:
            seconds = (parsedate_to_datetime(value) - now).total_seconds()
    except (TypeError, ValueError):
        return None
    return min(max(seconds, 1.0), RETRY_AFTER_MAX)


def next_delay(tries: int, scale: float) -> float:
    """Seconds before attempt ``tries`` (counted from 0), with up to 10% jitter either way so
    that many deliveries failing together do not all come back at once."""
    return SCHEDULE[tries] * scale * random.uniform(0.9, 1.1)  # noqa: S311 (not a secret)


class Sender:
    def __init__(
        self, db: Database, settings: Settings, definitions: Definitions | None = None
    ) -> None:
        self.db = db
        self.settings = settings
        self.definitions = definitions
        # One client for every delivery of this event loop: making one costs more than a
        # request. Connections to a receiver are kept and reused.
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            limits = httpx.Limits(max_keepalive_connections=20, keepalive_expiry=30)
            self._client = httpx.AsyncClient(follow_redirects=False, limits=limits)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _claim(self, pk: int, now: datetime) -> bool:
        hold = now + timedelta(seconds=self.settings.webhook_timeout_seconds + 5)
        async with self.db.transaction() as session:
            claimed = await session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.pk == pk,
                    WebhookDelivery.state == "pending",
                    WebhookDelivery.due_at <= now + timedelta(seconds=1),
                    or_(WebhookDelivery.held_until.is_(None), WebhookDelivery.held_until < now),
                )
                .values(held_until=hold, queued_at=None)
            )
            return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]

    async def send_many(self, pks: list[int]) -> list[str]:
        """:meth:`send` each, at once: their requests overlap, as they go to other hosts or
        over other connections."""
        return list(await asyncio.gather(*(self.send(pk) for pk in pks)))

    async def send(self, pk: int) -> str:
        """One attempt of delivery ``pk``; what came of it, for the task's log."""
        now = datetime.now(UTC)
        if not await self._claim(pk, now):
            return "not due, taken or finished"
        async with self.db.sessions() as session:
            delivery = await session.get(WebhookDelivery, pk)
            event = await session.get(Event, delivery.event_pk) if delivery else None
            endpoint = (
                await session.get(WebhookEndpoint, delivery.endpoint_pk) if delivery else None
            )
        if delivery is None or event is None or endpoint is None:
            return "gone"
        if not endpoint.enabled:
            await self._release(pk)
            return "endpoint disabled"
        view = EventView.of(event)
        body = render(endpoint.kind, view, await self._definition(endpoint, view))
        live = [endpoint.secret]
        if endpoint.previous_secret and endpoint.previous_until and endpoint.previous_until > now:
            live.append(endpoint.previous_secret)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"Pomona/{__version__} (webhooks)",
            **signing.headers(event.event_id, now, body, live),
        }
        started = time.monotonic()
        answer: Answer | None = None
        error: str | None = None
        try:
            answer = await post(
                self._http(), endpoint.url, body, headers, fetch_policy(self.settings), keep=EXCERPT
            )
        except FetchError as failed:
            error = "; ".join(p.message for p in failed.problems)
        duration = int((time.monotonic() - started) * 1000)
        return await self._settle(pk, now, answer, error, duration)

    async def _definition(
        self, endpoint: WebhookEndpoint, view: EventView
    ) -> dict[str, Any] | None:
        if endpoint.kind != "patchserver" or not endpoint.send_definition:
            return None
        if self.definitions is None or view.type != "title.created":
            return None
        return await self.definitions(str(view.data.get("id")), int(view.data.get("revision", 0)))

    async def _release(self, pk: int) -> None:
        async with self.db.transaction() as session:
            await session.execute(
                update(WebhookDelivery).where(WebhookDelivery.pk == pk).values(held_until=None)
            )

    async def _settle(
        self, pk: int, at: datetime, answer: Answer | None, error: str | None, duration: int
    ) -> str:
        status = answer.status if answer is not None else None
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            delivery = await session.get(WebhookDelivery, pk)
            if delivery is None:
                return "gone"
            endpoint = await session.scalar(
                select(WebhookEndpoint).where(WebhookEndpoint.pk == delivery.endpoint_pk)
            )
            if status is not None and not 200 <= status < 300 and error is None:
                error = f"answered {status}" + (
                    " (redirects are not followed)" if 300 <= status < 400 else ""
                )
            session.add(
                WebhookAttempt(
                    delivery_pk=pk,
                    at=at,
                    status=status,
                    duration_ms=duration,
                    answer=answer.body.decode(errors="replace")[:EXCERPT] if answer else None,
                    error=error[:1024] if error else None,
                )
            )
            delivery.held_until, delivery.last_status = None, status
            if status is not None and 200 <= status < 300:
                delivery.state, delivery.delivered_at = "delivered", now
                if endpoint is not None:
                    endpoint.failing_since = None
                return "delivered"
            delivery.tries += 1
            if status == 410:
                delivery.state = "failed"
                if endpoint is not None and endpoint.enabled:
                    await disable(session, endpoint, "answered 410 Gone")
                return "failed: endpoint gone"
            if delivery.tries >= len(SCHEDULE):
                delivery.state = "failed"
            else:
                wait = retry_after(answer, now)
                if wait is None:
                    wait = next_delay(delivery.tries, self.settings.webhook_retry_scale)
                delivery.due_at = now + timedelta(seconds=wait)
            if endpoint is not None:
                endpoint.failing_since = endpoint.failing_since or at
                hours = self.settings.webhook_disable_after_hours
                if endpoint.enabled and now - endpoint.failing_since > timedelta(hours=hours):
                    await disable(session, endpoint, f"every delivery failed for {hours:g} hours")
            return f"{delivery.state}: {error}"


__all__ = ["SCHEDULE", "Sender", "next_delay", "retry_after"]
