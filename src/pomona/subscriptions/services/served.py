"""A subscribed title's layers: the upstream document, the overrides laid over it and what is
served, with the diff between upstream and served; and editing the overrides, which takes
effect at once from the last good upstream document (no fetch)."""

from __future__ import annotations

from typing import Any

import orjson

from pomona.audit.service import Who
from pomona.errors import NotFound
from pomona.subscriptions.models import Subscription
from pomona.subscriptions.overrides import apply, load
from pomona.subscriptions.services.checks import SubscriptionChecks, actor_of
from pomona.subscriptions.services.records import (
    _require,
    canonical,
    changed,
    overrides_of,
    upstream_of,
)
from pomona.subscriptions.values import Served
from pomona.titles.history import diff
from pomona.titles.models import TitleState
from pomona.titles.services.revisions import check_off_loop


class SubscriptionLayers(SubscriptionChecks):
    async def served(self, pk: int) -> Served:
        row = await self.get(pk)
        upstream = upstream_of(row)
        overrides = overrides_of(row)
        try:
            title = await self.titles.row(row.title_id)
        except NotFound:
            served, state = None, TitleState()
        else:
            served, state = orjson.loads(title.document), TitleState.load(title.state)
        notes: list[str] = []
        changes = None
        if upstream is not None:
            notes = apply(upstream, overrides, row.title_id).notes
            # Upstream as this server names it, so the diff shows the overrides, not the id.
            base = {**upstream, "id": row.title_id}
            changes = diff(base, TitleState(), served, state).as_dict() if served else None
        return Served(upstream, overrides.dump(), served, changes, notes)

    async def set_overrides(self, pk: int, raw: Any, who: Who) -> Subscription:
        """Replace the overrides. With an upstream document already fetched, the title is
        written at once under the new overrides, and overrides that would make it invalid are
        refused (nothing saved); otherwise they apply on the first check."""
        overrides = load(raw)
        row = await self.get(pk)
        upstream = upstream_of(row)
        document = None
        if upstream is not None and row.attached:
            document = apply(upstream, overrides, row.title_id).document
            await check_off_loop(document)  # refuses, listing every problem, before any write
        async with self.db.transaction() as session:
            row = await _require(session, pk)
            row.overrides = canonical(overrides.dump())
            await changed(session, who, row, "edited")
        if document is not None:
            try:
                await self.titles.replace(row.title_id, document, actor_of(row))
            except NotFound:
                await self.titles.create(document, actor_of(row), namespace=row.namespace)
        return row


__all__ = ["SubscriptionLayers"]
