"""Typed FastAPI dependencies of the subscriptions domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from pomona.deps import ServicesDep
from pomona.subscriptions.services import SubscriptionService


def subscription_service(found: ServicesDep) -> SubscriptionService:
    return found.subscriptions


Subscriptions = Annotated[SubscriptionService, Depends(subscription_service)]
