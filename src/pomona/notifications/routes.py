"""HTTP routes of the notifications domain: your own mail subscriptions under
``/api/v1/users/me/notifications``, and anybody's for admins under
``/api/v1/users/{name}/notifications``. Parse, call, answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from pomona.accounts.deps import AdminWho, Person, PersonWho
from pomona.budget_http import api_router
from pomona.errors_http import error_responses
from pomona.notifications.deps import Notifications
from pomona.notifications.models import NotificationSubscription
from pomona.notifications.schemas import SubscriptionIn, SubscriptionOut, SubscriptionsOut
from pomona.notifications.service import NotificationService
from pomona.times import format_time

Username = Annotated[str, Path(min_length=1, max_length=255)]
SubscriptionId = Annotated[int, Path(ge=1, le=2**31 - 1)]

mine = api_router(prefix="/api/v1/users/me/notifications", tags=["notifications"])
theirs = api_router(prefix="/api/v1/users/{name}/notifications", tags=["notifications"])


def _out(row: NotificationSubscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=row.pk,
        pattern=row.pattern,
        namespace=row.namespace,
        mode=row.mode,
        createdAt=format_time(row.created_at),
    )


async def _list(notifications: NotificationService, username: str) -> SubscriptionsOut:
    found = await notifications.subscriptions.list_for(username)
    return SubscriptionsOut(
        username=found.username,
        email=found.email,
        items=[_out(s) for s in found.items],
        adminDefaults=notifications.settings.notification_admin_defaults,
    )


def _user(caller: Person) -> str:
    assert caller.user is not None
    return caller.user


@mine.get("", response_model=SubscriptionsOut, responses=error_responses(401, 403))
async def my_subscriptions(notifications: Notifications, caller: Person) -> SubscriptionsOut:
    """What you are mailed about; admins also get ``adminDefaults`` without subscribing."""
    return await _list(notifications, _user(caller))


@mine.post(
    "",
    response_model=SubscriptionOut,
    status_code=HTTP_201_CREATED,
    responses=error_responses(401, 403, 409, 422),
)
async def subscribe(
    body: SubscriptionIn, notifications: Notifications, caller: Person, by: PersonWho
) -> SubscriptionOut:
    """Be mailed about events whose type matches ``pattern``: each at once, or in a digest."""
    row = await notifications.subscriptions.add(
        _user(caller), body.pattern, body.namespace, body.mode, by
    )
    return _out(row)


@mine.delete(
    "/{subscription}",
    status_code=HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 403, 404, 422),
)
async def unsubscribe(
    subscription: SubscriptionId, notifications: Notifications, caller: Person, by: PersonWho
) -> Response:
    await notifications.subscriptions.delete(_user(caller), subscription, by)
    return Response(status_code=HTTP_204_NO_CONTENT)


@theirs.get("", response_model=SubscriptionsOut, responses=error_responses(401, 403, 404))
async def their_subscriptions(
    name: Username, notifications: Notifications, _by: AdminWho
) -> SubscriptionsOut:
    """A person's subscriptions (admin)."""
    return await _list(notifications, name)


@theirs.post(
    "",
    response_model=SubscriptionOut,
    status_code=HTTP_201_CREATED,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def subscribe_them(
    name: Username, body: SubscriptionIn, notifications: Notifications, by: AdminWho
) -> SubscriptionOut:
    """Subscribe a person (admin)."""
    return _out(
        await notifications.subscriptions.add(name, body.pattern, body.namespace, body.mode, by)
    )


@theirs.delete(
    "/{subscription}",
    status_code=HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 403, 404, 422),
)
async def unsubscribe_them(
    name: Username, subscription: SubscriptionId, notifications: Notifications, by: AdminWho
) -> Response:
    """Remove a person's subscription (admin)."""
    await notifications.subscriptions.delete(name, subscription, by)
    return Response(status_code=HTTP_204_NO_CONTENT)


# ``mine`` first: its paths would otherwise be read as a person named "me".
ROUTERS = (mine, theirs)
