"""Inbound sources: the Jamf Pro servers allowed to post webhooks, their authentication and
rules. Every write is audited and emits its event in its own transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pomona import wildcards
from pomona.accounts import passwords
from pomona.audit.service import Who, record
from pomona.db import Database, utcnow
from pomona.errors import Conflict, Invalid, NotFound, Problem
from pomona.events.outbox import emit
from pomona.events.types import EventType
from pomona.inbound import credentials
from pomona.inbound.actions import ActionRegistry
from pomona.inbound.events import SOURCE_CREATED, SOURCE_DELETED, SOURCE_UPDATED, SourceChanged
from pomona.inbound.models import InboundSource
from pomona.inbound.schemas import SourceEdit, SourceIn

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Rule:
    on: str
    action: str


def rules_of(source: InboundSource) -> list[Rule]:
    return [Rule(r["on"], r["action"]) for r in orjson.loads(source.rules or "[]")]


def not_found(name: str) -> NotFound:
    return NotFound(
        f"no inbound source is named '{name}'",
        "/name",
        "path",
        code="inbound_source_not_found",
    )


class Sources:
    def __init__(self, db: Database, actions: ActionRegistry) -> None:
        self.db, self.actions = db, actions

    async def list_all(self) -> list[InboundSource]:
        async with self.db.sessions() as session:
            return list(await session.scalars(select(InboundSource).order_by(InboundSource.name)))

    async def get(self, name: str) -> InboundSource:
        async with self.db.sessions() as session:
            return await self.find(session, name)

    @staticmethod
    async def find(session: AsyncSession, name: str) -> InboundSource:
        found = await session.scalar(select(InboundSource).where(InboundSource.name == name))
        if found is None:
            raise not_found(name)
        return found

    async def create(self, spec: SourceIn, who: Who) -> InboundSource:
        problems = (
            []
            if _NAME.fullmatch(spec.name)
            else [
                Problem(
                    "/name",
                    "use 1 to 64 lower-case letters, digits, '.', '_' and '-', starting with a "
                    "letter or digit",
                    code="inbound_name_invalid",
                )
            ]
        )
        now = utcnow()
        source = InboundSource(
            name=spec.name,
            auth=spec.auth,
            allow_unauthenticated=False,
            rules="[]",
            enabled=True,
            created_at=now,
            updated_at=now,
        )
        problems += await self._apply(source, spec, creating=True)
        if problems:
            raise Invalid(problems)
        try:
            async with self.db.transaction() as session:
                session.add(source)
                await session.flush()
                await self._written(session, who, source, "create", SOURCE_CREATED)
        except IntegrityError:
            raise Conflict(
                f"an inbound source is named '{spec.name}' already",
                "/name",
                code="inbound_source_exists",
            ) from None
        return source

    async def edit(self, name: str, spec: SourceEdit, who: Who) -> InboundSource:
        async with self.db.transaction() as session:
            source = await self.find(session, name)
            problems = await self._apply(source, spec, creating=False)
            if problems:
                raise Invalid(problems)
            source.updated_at = utcnow()
            await self._written(session, who, source, "edit", SOURCE_UPDATED)
        return source

    async def delete(self, name: str, who: Who) -> None:
        async with self.db.transaction() as session:
            source = await self.find(session, name)
            await session.delete(source)
            await self._written(session, who, source, "delete", SOURCE_DELETED)

    @staticmethod
    async def _written(
        session: AsyncSession,
        who: Who,
        source: InboundSource,
        verb: str,
        kind: EventType[SourceChanged],
    ) -> None:
        await record(
            session, who, f"inbound.source_{verb}", f"inbound:{source.name}", f"auth {source.auth}"
        )
        payload = SourceChanged(name=source.name, auth=source.auth, enabled=source.enabled)
        await emit(session, who, kind, payload, subject=f"inbound:{source.name}")

    async def _apply(
        self, source: InboundSource, spec: SourceEdit, *, creating: bool
    ) -> list[Problem]:
        """Set what ``spec`` gives on ``source``; the problems found, every one of them."""
        problems: list[Problem] = []
        given = spec.model_fields_set | ({"auth"} if creating else set())
        auth = spec.auth or source.auth
        if spec.allowUnauthenticated is not None:
            source.allow_unauthenticated = spec.allowUnauthenticated
        if spec.enabled is not None:
            source.enabled = spec.enabled
        if auth == "none" and not source.allow_unauthenticated:
            problems.append(
                Problem(
                    "/auth",
                    "a source without authentication lets anyone post events: set "
                    "allowUnauthenticated to true to accept that, or use basic or header",
                    code="inbound_auth_none_refused",
                )
            )
        changing = "auth" in given and (creating or auth != source.auth)
        if auth == "basic" and (changing or spec.username or spec.password):
            problems += await self._basic(source, spec, need=changing)
        if auth == "header" and (changing or spec.headers is not None):
            if spec.headers is None:
                problems.append(
                    Problem(
                        "/headers",
                        'give the header map Jamf Pro sends: {"Authorization": "Bearer <token>"}',
                        code="inbound_headers_missing",
                    )
                )
            else:
                found = credentials.header_problems(spec.headers)
                problems += found
                if not found:
                    source.headers = credentials.hash_headers(spec.headers)
        if auth != "basic" and (spec.username or spec.password):
            problems.append(
                Problem(
                    "/password",
                    "username and password are for auth basic",
                    code="inbound_auth_mismatch",
                )
            )
        if auth != "header" and spec.headers:
            problems.append(
                Problem("/headers", "headers are for auth header", code="inbound_auth_mismatch")
            )
        source.auth = auth
        if auth != "basic":
            source.username = source.password_hash = None
        if auth != "header":
            source.headers = None
        if spec.rules is not None:
            problems += self._rules(spec)
            source.rules = orjson.dumps(
                [{"on": r.on, "action": r.action} for r in spec.rules]
            ).decode()
        return problems

    async def _basic(self, source: InboundSource, spec: SourceEdit, *, need: bool) -> list[Problem]:
        problems: list[Problem] = []
        if need and not (spec.username and spec.password):
            problems.append(
                Problem(
                    "/password",
                    "Basic needs a username and a password",
                    code="inbound_basic_missing",
                )
            )
            return problems
        if spec.username:
            source.username = spec.username
        if spec.password:
            found = passwords.problems(spec.password)
            if found:
                return found
            source.password_hash = await passwords.hash_password(spec.password)
        if source.username is None or source.password_hash is None:
            problems.append(
                Problem(
                    "/password",
                    "Basic needs a username and a password",
                    code="inbound_basic_missing",
                )
            )
        return problems

    def _rules(self, spec: SourceEdit) -> list[Problem]:
        problems: list[Problem] = []
        for index, rule in enumerate(spec.rules or []):
            if not wildcards.valid(rule.on):
                problems.append(
                    Problem(
                        f"/rules/{index}/on",
                        "a Jamf event name, or a pattern with '*'",
                        code="inbound_rule_pattern",
                    )
                )
            if self.actions.get(rule.action) is None:
                offered = ", ".join(self.actions.names())
                problems.append(
                    Problem(
                        f"/rules/{index}/action",
                        f"no action '{rule.action}' (offered: {offered})",
                        code="inbound_rule_action",
                    )
                )
        return problems


__all__ = ["Rule", "Sources", "not_found", "rules_of"]
