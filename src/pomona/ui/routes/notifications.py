"""A person's own mail notifications: what they are mailed about (event types or patterns, at
once or in a digest), adding and removing. The API's body model checks the form, the
notifications service writes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Path, Request, Response

from pomona.accounts.deps import Person, PersonWho
from pomona.errors import Invalid
from pomona.events.catalog import catalog
from pomona.notifications.deps import Notifications
from pomona.notifications.schemas import SubscriptionIn
from pomona.ui.fields import problems_by_field
from pomona.ui.pages_http import PREFIX, parse, redirect, render, ui_router

router = ui_router(prefix=f"{PREFIX}/notifications")
MODES = ("immediate", "hourly", "daily", "off")


def _user(caller: Person) -> str:
    assert caller.user is not None, "a person"
    return caller.user


async def _page(
    request: Request,
    notifications: Notifications,
    caller: Person,
    status: int = 200,
    **context: Any,
) -> Response:
    return render(
        request,
        "notifications/list.html",
        status,
        caller=caller,
        mine=await notifications.subscriptions.list_for(_user(caller)),
        defaults=notifications.settings.notification_admin_defaults
        if caller.allows("admin")
        else [],
        modes=MODES,
        catalog=sorted(catalog()),
        errors=context.pop("errors", {}),
        form=context.pop("form", {}),
        **context,
    )


@router.get("")
async def notifications_page(
    request: Request, notifications: Notifications, caller: Person
) -> Response:
    return await _page(request, notifications, caller)


@router.post("")
async def subscribe(
    request: Request,
    notifications: Notifications,
    caller: Person,
    by: PersonWho,
    pattern: Annotated[str, Form(max_length=255)] = "",
    namespace: Annotated[str, Form(max_length=255)] = "",
    mode: Annotated[str, Form(max_length=20)] = "immediate",
) -> Response:
    form = {"pattern": pattern, "namespace": namespace, "mode": mode}
    try:
        body = parse(SubscriptionIn, {**form, "namespace": namespace or None})
        await notifications.subscriptions.add(
            _user(caller), body.pattern, body.namespace, body.mode, by
        )
    except Invalid as exc:
        errors = problems_by_field(exc.problems, ("/pattern", "/namespace", "/mode"))
        return await _page(request, notifications, caller, 422, errors=errors, form=form)
    return redirect(request, f"{PREFIX}/notifications")


@router.post("/{subscription}/delete")
async def unsubscribe(
    request: Request,
    notifications: Notifications,
    caller: Person,
    by: PersonWho,
    subscription: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> Response:
    await notifications.subscriptions.delete(_user(caller), subscription, by)
    return redirect(request, f"{PREFIX}/notifications")
