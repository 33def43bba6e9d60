"""The webhook service: its endpoints, their delivery log, the dispatcher and the sender, each
built with what it needs."""

from __future__ import annotations

from dataclasses import dataclass

from pomona.audit.service import Who
from pomona.db import Database
from pomona.events.delivery import Definitions, Sender
from pomona.events.delivery_log import DeliveryLog
from pomona.events.dispatch import Dispatcher
from pomona.events.endpoints import WebhookEndpoints
from pomona.settings import Settings


@dataclass(frozen=True, slots=True)
class Webhooks:
    endpoints: WebhookEndpoints
    log: DeliveryLog
    dispatcher: Dispatcher
    sender: Sender

    @classmethod
    def build(
        cls, db: Database, settings: Settings, definitions: Definitions | None = None
    ) -> Webhooks:
        return cls(
            WebhookEndpoints(db, settings),
            DeliveryLog(db),
            Dispatcher(db),
            Sender(db, settings, definitions),
        )

    async def replay(self, endpoint_id: str, delivery_pk: int, who: Who) -> None:
        """Send an endpoint's delivery again now, from the start of its retry schedule."""
        await self.log.replay(await self.endpoints.get(endpoint_id), delivery_pk, who)


__all__ = ["Webhooks"]
