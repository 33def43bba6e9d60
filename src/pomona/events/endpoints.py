"""Webhook endpoints: where events go, in which form, and which events.

Every URL is checked by the outbound guard (:mod:`pomona.net`) when it is written, and again by
each delivery (a name's address can change). A signed endpoint's secret is shown once, when it
is made or rotated; the server keeps it, since it signs with it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.audit.service import SYSTEM, Who, record
from pomona.db import Database, utcnow
from pomona.errors import Invalid, NotFound, Problem
from pomona.events import events, patterns
from pomona.events.messages import KINDS, PATCHSERVER_EVENTS
from pomona.events.models import WebhookEndpoint
from pomona.events.outbox import emit
from pomona.events.signing import new_secret
from pomona.events.types import EventType
from pomona.net import FetchError, FetchPolicy, check_url
from pomona.settings import Settings
from pomona.titles.namespaces import slug_problems

URL_MAX = 2048
DESCRIPTION_MAX = 255
TYPES_MAX = 50


@dataclass(slots=True)
class EndpointSpec:
    """An endpoint as asked for. ``patchserver`` endpoints take PatchServer's two events."""

    url: str
    kind: str = "signed"
    event_types: list[str] = field(default_factory=lambda: ["*"])
    namespace: str | None = None
    enabled: bool = True
    description: str = ""
    send_definition: bool = False


@dataclass(slots=True)
class EndpointEdit:
    """Changes to an endpoint; None keeps a field (``namespace=""`` removes the filter)."""

    url: str | None = None
    event_types: list[str] | None = None
    namespace: str | None = None
    enabled: bool | None = None
    description: str | None = None


def event_types_of(row: WebhookEndpoint) -> list[str]:
    found: list[str] = orjson.loads(row.event_types)
    return found


def host_of(url: str) -> str:
    return urlsplit(url).hostname or ""


def fetch_policy(settings: Settings) -> FetchPolicy:
    """The outbound guard of webhook requests: the admin's allowed networks, the webhook
    timeout."""
    return FetchPolicy.from_settings(
        settings.fetch_allowed_networks,
        timeout=settings.webhook_timeout_seconds,
        max_bytes=1024,
        max_redirects=0,
    )


async def change(
    session: AsyncSession, who: Who, kind: EventType[events.EndpointChange], row: WebhookEndpoint
) -> None:
    """Audit and emit a write of ``row``, in its transaction."""
    verb = kind.name.split(".", 1)[1]
    detail = f"{row.kind} endpoint to {host_of(row.url)}" + (
        f": {row.disabled_reason}" if row.disabled_reason else ""
    )
    await record(session, who, f"webhook.{verb}", f"webhook:{row.endpoint_id}", detail)
    payload = events.EndpointChange(
        id=row.endpoint_id,
        kind=row.kind,
        host=host_of(row.url),
        enabled=row.enabled,
        reason=row.disabled_reason,
    )
    await emit(session, who, kind, payload, subject=f"webhook:{row.endpoint_id}")


async def disable(session: AsyncSession, row: WebhookEndpoint, reason: str) -> None:
    """Disable ``row`` because deliveries to it failed; the event tells admins."""
    row.enabled, row.disabled_reason, row.updated_at = False, reason[:255], utcnow()
    await change(session, SYSTEM, events.ENDPOINT_DISABLED, row)


class WebhookEndpoints:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    async def _check(
        self,
        url: str | None,
        types: list[str] | None,
        namespace: str | None,
        description: str | None,
        kind: str | None = None,
    ) -> None:
        found: list[Problem] = []
        if kind is not None and kind not in KINDS:
            found.append(
                Problem("/kind", f"kind is one of {', '.join(KINDS)}", code="webhook_kind_invalid")
            )
        if url is not None:
            if len(url) > URL_MAX:
                found.append(Problem("/url", f"a URL has at most {URL_MAX} characters"))
            else:
                try:
                    await check_url(url, fetch_policy(self.settings))
                except FetchError as refused:
                    found.extend(
                        Problem("/url", p.message, code="url_refused") for p in refused.problems
                    )
        if types is not None:
            if not types or len(types) > TYPES_MAX:
                found.append(
                    Problem("/eventTypes", f"give 1 to {TYPES_MAX} event types or patterns")
                )
            found.extend(patterns.problems(types, "/eventTypes"))
        if namespace:
            found.extend(slug_problems(namespace, "/namespace"))
        if description is not None and len(description) > DESCRIPTION_MAX:
            found.append(
                Problem("/description", f"a description has at most {DESCRIPTION_MAX} characters")
            )
        if found:
            raise Invalid(found, code=found[0].code)

    async def create(self, spec: EndpointSpec, who: Who) -> tuple[WebhookEndpoint, str]:
        """The new endpoint and its signing secret (shown this once)."""
        types = list(PATCHSERVER_EVENTS) if spec.kind == "patchserver" else spec.event_types
        await self._check(spec.url, types, spec.namespace, spec.description, spec.kind)
        now = utcnow()
        secret = new_secret()
        row = WebhookEndpoint(
            endpoint_id=f"ep_{secrets.token_hex(8)}",
            url=spec.url,
            kind=spec.kind,
            event_types=orjson.dumps(types).decode(),
            namespace=spec.namespace or None,
            enabled=spec.enabled,
            description=spec.description,
            secret=secret,
            send_definition=spec.send_definition,
            created_at=now,
            updated_at=now,
        )
        async with self.db.transaction() as session:
            session.add(row)
            await session.flush()
            await change(session, who, events.ENDPOINT_CREATED, row)
        return row, secret

    async def list(self) -> list[WebhookEndpoint]:
        async with self.db.sessions() as session:
            return list(await session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.pk)))

    async def get(self, endpoint_id: str) -> WebhookEndpoint:
        async with self.db.sessions() as session:
            return await self._row(session, endpoint_id)

    async def _row(self, session: AsyncSession, endpoint_id: str) -> WebhookEndpoint:
        # PatchServer's scripts know endpoints by a number: the row's own.
        if endpoint_id.isascii() and endpoint_id.isdigit() and len(endpoint_id) < 10:
            condition = WebhookEndpoint.pk == int(endpoint_id)
        else:
            condition = WebhookEndpoint.endpoint_id == endpoint_id
        row = await session.scalar(select(WebhookEndpoint).where(condition))
        if row is None:
            raise NotFound(
                f"no webhook endpoint '{endpoint_id}'",
                "/endpoint_id",
                "path",
                code="webhook_endpoint_not_found",
            )
        return row

    async def update(self, endpoint_id: str, edit: EndpointEdit, who: Who) -> WebhookEndpoint:
        await self._check(edit.url, edit.event_types, edit.namespace, edit.description)
        async with self.db.transaction() as session:
            row = await self._row(session, endpoint_id)
            if edit.url is not None:
                row.url = edit.url
            if edit.event_types is not None and row.kind != "patchserver":
                row.event_types = orjson.dumps(edit.event_types).decode()
            if edit.namespace is not None:
                row.namespace = edit.namespace or None
            if edit.description is not None:
                row.description = edit.description
            if edit.enabled is not None:
                if edit.enabled and not row.enabled:
                    # Enabled again by a person: failures count afresh.
                    row.failing_since, row.disabled_reason = None, None
                row.enabled = edit.enabled
            row.updated_at = utcnow()
            await change(session, who, events.ENDPOINT_UPDATED, row)
        return row

    async def delete(self, endpoint_id: str, who: Who) -> None:
        async with self.db.transaction() as session:
            row = await self._row(session, endpoint_id)
            await change(session, who, events.ENDPOINT_DELETED, row)
            await session.delete(row)

    async def rotate(self, endpoint_id: str, who: Who) -> tuple[WebhookEndpoint, str]:
        """A new secret; the current one keeps signing for ``webhook_secret_overlap_hours``."""
        async with self.db.transaction() as session:
            row = await self._row(session, endpoint_id)
            overlap = timedelta(hours=self.settings.webhook_secret_overlap_hours)
            row.previous_secret, row.previous_until = row.secret, utcnow() + overlap
            row.secret = new_secret()
            row.updated_at = utcnow()
            await change(session, who, events.SECRET_ROTATED, row)
        return row, row.secret


__all__ = [
    "EndpointEdit",
    "EndpointSpec",
    "WebhookEndpoints",
    "change",
    "disable",
    "event_types_of",
    "fetch_policy",
    "host_of",
]
