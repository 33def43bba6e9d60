"""Push rules: "every package tagged ``prod`` goes to connection X".

Applying the rules (on a schedule, or when asked) queues a push of every tagged package whose
current content the connection has not received yet (no push of it queued, running or done).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable

from sqlalchemy import select

from pomona.audit.service import Who, record
from pomona.auth.scopes import Principal
from pomona.db import Database, utcnow
from pomona.errors import Conflict, NotFound
from pomona.events.outbox import emit
from pomona.jamf import events
from pomona.jamf.connections import Connections
from pomona.jamf.models import JamfPush, JamfRule
from pomona.jamf.pushes import Pushes
from pomona.jamf.values import RuleInfo
from pomona.packages.catalog import PackageCatalog

# Pushes the rules start act as this principal (the audit log names it).
RULES = Principal("system:jamf-rules", frozenset({"admin"}))


def _info(row: JamfRule) -> RuleInfo:
    return RuleInfo(row.tag, row.connection, row.created_at)


class Rules:
    def __init__(
        self,
        db: Database,
        connections: Connections,
        pushes: Pushes,
        catalog: PackageCatalog,
        enqueue: Callable[[str], object] | None,
    ) -> None:
        self.db = db
        self.connections = connections
        self.pushes = pushes
        self.catalog = catalog
        self.enqueue = enqueue

    async def list(self) -> list[RuleInfo]:
        async with self.db.sessions() as session:
            rows = await session.scalars(
                select(JamfRule).order_by(JamfRule.tag, JamfRule.connection)
            )
            return [_info(r) for r in rows]

    async def create(self, tag: str, connection: str, *, who: Who) -> RuleInfo:
        await self.connections.get(connection)
        async with self.db.transaction() as session:
            taken = await session.scalar(
                select(JamfRule).where(JamfRule.tag == tag, JamfRule.connection == connection)
            )
            if taken is not None:
                raise Conflict(
                    f"packages tagged '{tag}' already go to '{connection}'",
                    "/tag",
                    code="jamf_rule_exists",
                )
            row = JamfRule(tag=tag, connection=connection, created_at=utcnow())
            session.add(row)
            await record(session, who, "jamf.rule.create", f"jamf:{connection}", f"tag {tag}")
            await emit(
                session,
                who,
                events.RULE_CREATED,
                events.RulePayload(tag=tag, connection=connection),
                subject=f"jamf:{connection}",
            )
        return _info(row)

    async def delete(self, tag: str, connection: str, *, who: Who) -> None:
        async with self.db.transaction() as session:
            row = await session.scalar(
                select(JamfRule).where(JamfRule.tag == tag, JamfRule.connection == connection)
            )
            if row is None:
                raise NotFound(
                    f"no rule sends packages tagged '{tag}' to '{connection}'",
                    "/tag",
                    code="jamf_rule_not_found",
                )
            await session.delete(row)
            await record(session, who, "jamf.rule.delete", f"jamf:{connection}", f"tag {tag}")
            await emit(
                session,
                who,
                events.RULE_DELETED,
                events.RulePayload(tag=tag, connection=connection),
                subject=f"jamf:{connection}",
            )

    async def apply(self) -> builtins.list[str]:
        """Queue the pushes the rules call for; their ids."""
        started: builtins.list[str] = []
        who = Who(RULES.name)
        for rule in await self.list():
            offset = 0
            while True:
                page = await self.catalog.search(query=None, tag=rule.tag, offset=offset, limit=200)
                for package in page.items:
                    if await self._has(rule.connection, package.filename, package.sha256):
                        continue
                    job, push = await self.pushes.queue(
                        package.filename, rule.connection, caller=RULES, who=who, rule=rule.tag
                    )
                    if self.enqueue is not None:
                        self.enqueue(job.job_id)
                    started.append(push.push_id)
                offset += len(page.items)
                if not page.items or offset >= page.total:
                    break
        return started

    async def _has(self, connection: str, filename: str, sha256: str) -> bool:
        async with self.db.sessions() as session:
            found = await session.scalar(
                select(JamfPush.pk).where(
                    JamfPush.connection == connection,
                    JamfPush.filename == filename,
                    JamfPush.sha256 == sha256,
                    JamfPush.status.in_(("queued", "running", "succeeded")),
                )
            )
        return found is not None
