"""The web UI's routes, one module per area. To add a page: a module here with a router made
by ``ui_router()``, its templates under ``ui/templates/<area>/``, the module's router in
``ROUTERS``, and its link in ``templates/parts/nav.html`` (see docs/ui.md)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from pomona.ui.pages_http import HERE, STATIC
from pomona.ui.routes import (
    admin,
    dashboard,
    history,
    jamf,
    job_status,
    notifications,
    packages,
    peers,
    people,
    session,
    subscription,
    title_edits,
    titles,
    versions,
    webhooks,
)

ROUTERS = (
    session.router,
    dashboard.router,
    history.router,  # before titles: its /titles/{id}/{tab} would take /history
    subscription.router,  # before titles, for the same reason
    titles.router,
    title_edits.router,
    versions.router,
    packages.router,
    people.router,
    admin.router,
    peers.router,
    jamf.router,
    job_status.router,
    webhooks.router,
    notifications.router,
)


def install(app: FastAPI) -> None:
    """The pages, and their scripts and styles (the vendored libraries' included)."""
    app.mount(STATIC, StaticFiles(directory=HERE / "static"), name="ui-static")
    for router in ROUTERS:
        app.include_router(router)
