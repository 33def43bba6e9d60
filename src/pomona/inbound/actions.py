"""What a Jamf Pro event can set off: actions that domains offer, by name.

A source's rules name actions (``{"on": "PatchSoftwareTitleUpdated", "action": "notify"}``); the
processing task calls each matching one with the event. ``notify`` is built in and does nothing
more: the event written to the outbox is the notification, which webhooks and mail subscribed to
``jamf.*`` deliver. Other domains register their own when the services are built, e.g. the
subscriptions domain's ``subscriptions.refresh`` (``container.build_services``)::

    services.inbound.actions.register("subscriptions.refresh", refresh_subscriptions)
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

NOTIFY = "notify"
_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


@dataclass(frozen=True, slots=True)
class JamfEvent:
    """One Jamf Pro webhook as an action sees it: the event's fields as received and, for the
    events Pomona reads, the typed payload (``PatchTitleUpdated``, ``PatchPolicyCompleted``)."""

    source: str
    delivery: int
    webhook_event: str
    data: dict[str, Any]
    typed: BaseModel | None


Action = Callable[[JamfEvent], Awaitable[object]]


async def _notify(_event: JamfEvent) -> None:
    return None


class ActionRegistry:
    def __init__(self) -> None:
        self._actions: dict[str, Action] = {NOTIFY: _notify}

    def register(self, name: str, action: Action) -> None:
        if not _NAME.fullmatch(name) or len(name) > 64:
            raise ValueError(f"action {name!r} is not <domain>.<snake_case>")
        if name in self._actions:
            raise ValueError(f"action {name!r} is registered already")
        self._actions[name] = action

    def get(self, name: str) -> Action | None:
        return self._actions.get(name)

    def names(self) -> list[str]:
        return sorted(self._actions)


__all__ = ["NOTIFY", "Action", "ActionRegistry", "JamfEvent"]
