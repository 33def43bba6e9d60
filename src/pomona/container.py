"""The services of one process, built once from settings and handed out typed.

The web application builds them in its lifespan; the queue's worker threads build their own on
their task loop (:mod:`pomona.tasks`).
Routes reach them through each domain's ``deps.py``, never by digging in ``app.state``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pomona.accounts.service import Accounts
from pomona.audit.service import AuditService
from pomona.auth.service import TokenService
from pomona.db import Database
from pomona.events.service import EventService
from pomona.events.webhooks import Webhooks
from pomona.inbound.actions import JamfEvent
from pomona.inbound.service import InboundService
from pomona.jamf.service import JamfService
from pomona.notifications.service import NotificationService
from pomona.ops.backups import Backups
from pomona.ops.service import OperationsService
from pomona.packages.service import PackageService
from pomona.queue.jobs import JobService
from pomona.replication.service import ReplicationService
from pomona.settings import Settings
from pomona.subscriptions.actions import REFRESH, refresh_named
from pomona.subscriptions.services import SubscriptionService
from pomona.titles.services import TitleService

if TYPE_CHECKING:
    from pomona.tasks import Tasks


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    db: Database
    tasks: Tasks
    audit: AuditService
    tokens: TokenService
    accounts: Accounts
    jobs: JobService
    titles: TitleService
    packages: PackageService
    ops: OperationsService
    backups: Backups
    inbound: InboundService
    notifications: NotificationService
    subscriptions: SubscriptionService
    events: EventService
    webhooks: Webhooks
    replication: ReplicationService
    jamf: JamfService


def build_services(
    settings: Settings,
    db: Database,
    tasks: Tasks,
    *,
    on_titles_change: Callable[[], Awaitable[None]] | None = None,
) -> Services:
    """Every service on ``db``. ``on_titles_change`` is told of each title write (the web
    process's feed cache listens, so its own writes show on its feed at once)."""
    packages = PackageService.build(
        db, settings, enqueue=tasks.finalise, on_change=tasks.replication.announce
    )
    titles = TitleService(db, on_change=on_titles_change)
    jobs = JobService(db)
    services = Services(
        settings=settings,
        db=db,
        tasks=tasks,
        audit=AuditService(db),
        tokens=TokenService(db),
        accounts=Accounts.build(db, settings, send_mail=tasks.mail if settings.smtp_host else None),
        jobs=jobs,
        titles=titles,
        packages=packages,
        ops=OperationsService(db, packages.storage, tasks.queue.huey),
        backups=Backups(settings, lambda: titles.export(history=True), packages.catalog),
        inbound=InboundService(db),
        notifications=NotificationService(db, settings),
        subscriptions=SubscriptionService(db, titles, settings, packages.catalog),
        events=EventService(db),
        webhooks=Webhooks.build(db, settings, titles.definition_at),
        replication=ReplicationService.build(db, settings, packages),
        jamf=JamfService.build(db, settings, packages, jobs, enqueue=tasks.jamf),
    )
    _offer_actions(services)
    return services


def _offer_actions(services: Services) -> None:
    """The actions a Jamf Pro webhook's rules may name, beyond ``notify``."""

    async def refresh_subscriptions(event: JamfEvent) -> object:
        name = getattr(event.typed, "name", None) or event.data.get("name")
        return await refresh_named(services, name) if isinstance(name, str) else []

    services.inbound.actions.register(REFRESH, refresh_subscriptions)
