"""Jamf Pro webhooks in: authenticate the source, store the webhook as received with its event,
and later (a queued task) read it into a typed event and run the source's rules.

Receiving does the least that makes the webhook safe, so Jamf Pro is answered at once: the row
and its ``jamf.webhook_received`` event commit together, and the task does the rest. The task is
idempotent: a delivery is marked processed in the transaction of its typed events, by a
conditional update, so a second run (a worker lost and the task run again) changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pomona import wildcards
from pomona.audit.service import Who
from pomona.db import Database, utcnow
from pomona.errors import NotFound, Unauthenticated
from pomona.events.outbox import emit
from pomona.inbound import credentials, payloads
from pomona.inbound.actions import NOTIFY, ActionRegistry, JamfEvent
from pomona.inbound.events import (
    ACTION_FAILED,
    PATCH_POLICY_COMPLETED,
    PATCH_TITLE_UPDATED,
    WEBHOOK_RECEIVED,
    ActionFailed,
    PatchPolicyCompleted,
    PatchTitleUpdated,
    WebhookReceived,
)
from pomona.inbound.models import InboundDelivery, InboundSource
from pomona.inbound.sources import Sources, rules_of

log = logging.getLogger("pomona.inbound")


@dataclass(frozen=True, slots=True)
class DeliveryPage:
    items: list[InboundDelivery]
    total: int


class InboundService:
    def __init__(self, db: Database, actions: ActionRegistry | None = None) -> None:
        self.db = db
        self.actions = actions or ActionRegistry()
        self.sources = Sources(db, self.actions)

    # -- receiving -----------------------------------------------------------------------------

    async def authenticate(self, name: str, headers: Mapping[str, str]) -> InboundSource:
        """The source ``name``, once the request proves it is that source (before its body is
        read). Unknown and disabled sources are not found; wrong credentials unauthenticated."""
        async with self.db.sessions() as session:
            source = await session.scalar(select(InboundSource).where(InboundSource.name == name))
        if source is None or not source.enabled:
            why = "is switched off" if source is not None else "does not exist"
            raise NotFound(
                f"the inbound source '{name}' {why}: check the webhook's URL in Jamf Pro",
                "/source",
                "path",
                code="inbound_source_not_found",
            )
        lowered = {k.lower(): v for k, v in headers.items()}
        known = set(orjson.loads(source.headers)) if source.headers else set()
        credentials.log_signature_headers(source.name, lowered, known)
        if source.auth == "none" and source.allow_unauthenticated:
            return source
        if source.auth == "basic":
            ok = await credentials.basic_matches(
                source.username, source.password_hash, lowered.get("authorization", "")
            )
        else:
            ok = source.auth == "header" and credentials.headers_match(source.headers, lowered)
        if not ok:
            log.warning("inbound source %s: a webhook with wrong credentials was refused", name)
            raise Unauthenticated(
                f"the credentials do not match the inbound source '{name}': set the same "
                f"{'username and password' if source.auth == 'basic' else 'headers'} in the "
                "webhook in Jamf Pro",
                "/authorization",
                "header",
                code="inbound_auth_failed",
            )
        return source

    async def receive(
        self, source: InboundSource, body: bytes, content_type: str | None, client: str | None
    ) -> tuple[InboundDelivery, str]:
        """Store a webhook as received, with its ``jamf.webhook_received`` event; the delivery
        and the event's id. Refuses (BadRequest, every problem located) what cannot be read."""
        envelope = payloads.parse(body, content_type)
        now = utcnow()
        who = Who(f"jamf:{source.name}", client=client)
        async with self.db.transaction() as session:
            delivery = InboundDelivery(
                source_pk=source.pk,
                received_at=now,
                webhook_event=envelope.webhook_event,
                webhook_id=envelope.webhook_id,
                webhook_name=envelope.webhook_name,
                event_timestamp=envelope.timestamp,
                content_type=envelope.content_type,
                body=envelope.text,
                client=client[:255] if client else None,
                event_id="",
                status="received",
            )
            session.add(delivery)
            await session.flush()
            delivery.event_id = await emit(
                session,
                who,
                WEBHOOK_RECEIVED,
                WebhookReceived(
                    source=source.name,
                    delivery=delivery.pk,
                    webhookEvent=envelope.webhook_event,
                    webhookId=envelope.webhook_id,
                    webhookName=envelope.webhook_name,
                    eventTimestamp=payloads.iso(envelope.timestamp),
                ),
                subject=f"inbound:{source.name}",
            )
            await session.execute(
                update(InboundSource)
                .where(InboundSource.pk == source.pk)
                .values(last_received_at=now)
            )
        return delivery, delivery.event_id

    async def deliveries(self, name: str, *, offset: int, limit: int) -> DeliveryPage:
        """A source's stored webhooks, newest first."""
        async with self.db.sessions() as session:
            source = await Sources.find(session, name)
            where = InboundDelivery.source_pk == source.pk
            total = await session.scalar(
                select(func.count()).select_from(InboundDelivery).where(where)
            )
            rows = await session.scalars(
                select(InboundDelivery)
                .where(where)
                .order_by(InboundDelivery.pk.desc())
                .offset(offset)
                .limit(limit)
            )
            return DeliveryPage(list(rows), total or 0)

    async def stalled(self, older_than: float = 120.0) -> list[int]:
        """Deliveries stored but still unprocessed after ``older_than`` seconds: their task was
        never queued (the queue was away) or gave up."""
        since = utcnow() - timedelta(seconds=older_than)
        async with self.db.sessions() as session:
            found = await session.scalars(
                select(InboundDelivery.pk)
                .where(InboundDelivery.status == "received", InboundDelivery.received_at < since)
                .order_by(InboundDelivery.pk)
                .limit(1000)
            )
            return list(found)

    async def prune(self, keep_days: float) -> int:
        """Remove deliveries received more than ``keep_days`` ago (0: keep all)."""
        if keep_days <= 0:
            return 0
        before = utcnow() - timedelta(days=keep_days)
        async with self.db.transaction() as session:
            done = await session.execute(
                delete(InboundDelivery).where(InboundDelivery.received_at < before)
            )
        return int(done.rowcount)  # type: ignore[attr-defined]

    # -- processing (the queued task) ----------------------------------------------------------

    async def process(self, delivery_pk: int) -> dict[str, Any]:
        """Read a stored webhook into its typed event, run the source's matching rules, and
        record the outcome; nothing when it was processed already."""
        async with self.db.sessions() as session:
            found = (
                await session.execute(
                    select(InboundDelivery, InboundSource)
                    .join(InboundSource, InboundSource.pk == InboundDelivery.source_pk)
                    .where(InboundDelivery.pk == delivery_pk)
                )
            ).first()
        if found is None or found[0].status != "received":
            return {"delivery": delivery_pk, "skipped": "processed already, or removed"}
        delivery, source = found
        envelope = payloads.parse(delivery.body.encode(), delivery.content_type)
        typed = payloads.typed(envelope, source.name, delivery.pk)
        event = JamfEvent(
            source.name,
            delivery.pk,
            envelope.webhook_event,
            envelope.event,
            typed.payload if typed else None,
        )
        actions = await self._run_rules(source, event)
        outcome: dict[str, Any] = {"actions": actions}
        if typed is not None and typed.problems:
            outcome["unreadable"] = typed.problems
        failed = [name for name, result in actions.items() if result != "ok"]
        async with self.db.transaction() as session:
            changed = await session.execute(
                update(InboundDelivery)
                .where(InboundDelivery.pk == delivery.pk, InboundDelivery.status == "received")
                .values(
                    status="failed" if failed else "processed",
                    processed_at=utcnow(),
                    outcome=orjson.dumps(outcome).decode(),
                )
            )
            if changed.rowcount != 1:  # type: ignore[attr-defined]
                await session.rollback()
                return {"delivery": delivery_pk, "skipped": "processed by another worker"}
            await self._emit_typed(session, source, event, failed, actions)
        return {"delivery": delivery_pk, **outcome}

    async def _run_rules(self, source: InboundSource, event: JamfEvent) -> dict[str, str]:
        results: dict[str, str] = {}
        for rule in rules_of(source):
            if not wildcards.matches(rule.on, event.webhook_event) or rule.action in results:
                continue
            action = self.actions.get(rule.action)
            if action is None:
                results[rule.action] = "no such action on this server"
                continue
            try:
                await action(event)
            except Exception as exc:  # an action of another domain: record it, go on
                log.exception(
                    "inbound action %s failed for delivery %d", rule.action, event.delivery
                )
                results[rule.action] = f"{type(exc).__name__}: {exc}"[:500]
            else:
                results[rule.action] = "ok"
        return results

    @staticmethod
    async def _emit_typed(
        session: AsyncSession,
        source: InboundSource,
        event: JamfEvent,
        failed: list[str],
        actions: dict[str, str],
    ) -> None:
        who = Who(f"jamf:{source.name}")
        subject = f"inbound:{source.name}"
        if isinstance(event.typed, PatchTitleUpdated):
            await emit(session, who, PATCH_TITLE_UPDATED, event.typed, subject=subject)
        elif isinstance(event.typed, PatchPolicyCompleted):
            await emit(session, who, PATCH_POLICY_COMPLETED, event.typed, subject=subject)
        for name in failed:
            payload = ActionFailed(
                source=source.name,
                delivery=event.delivery,
                webhookEvent=event.webhook_event,
                action=name,
                message=actions[name],
            )
            await emit(session, who, ACTION_FAILED, payload, subject=subject)


__all__ = ["NOTIFY", "DeliveryPage", "InboundService"]
