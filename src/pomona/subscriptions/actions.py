"""What other domains may ask of subscriptions: ``refresh``, a check of a title's subscription
now (for example when Jamf Pro says a patch title was updated, or another source's webhook
says it changed). It only queues the check: the fetch runs in a task."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pomona.container import Services

# The name an action registry lists it by.
REFRESH = "subscriptions.refresh"


async def refresh(services: Services, title_id: str) -> dict[str, Any]:
    """Queue a check of the subscription of ``title_id`` (``NotFound`` with code
    ``subscription_not_found`` when it has none; detached subscriptions are left alone)."""
    row = await services.subscriptions.of_title(title_id)
    if not row.attached:
        return {"subscription": row.pk, "titleId": title_id, "queued": False}
    await services.subscriptions.due_now(row.pk)
    services.tasks.subscriptions.sync(row.pk)
    return {"subscription": row.pk, "titleId": title_id, "queued": True}


async def refresh_named(services: Services, name: str) -> list[dict[str, Any]]:
    """Queue a check of every subscribed title called ``name``: Jamf Pro's
    ``PatchSoftwareTitleUpdated`` names the title as its patch source does, and knows no Pomona
    id. Titles without a subscription are left alone."""
    return [
        await refresh(services, title_id)
        for title_id in await services.subscriptions.titles_named(name)
    ]


__all__ = ["REFRESH", "refresh", "refresh_named"]
