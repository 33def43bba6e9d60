"""Typed FastAPI dependencies of the notifications domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from pomona.deps import ServicesDep
from pomona.notifications.service import NotificationService


def notification_service(found: ServicesDep) -> NotificationService:
    return found.notifications


Notifications = Annotated[NotificationService, Depends(notification_service)]
