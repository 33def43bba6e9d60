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
from pomona.jamf.service import JamfService
from pomona.ops.backups import Backups
from pomona.ops.service import OperationsService
from pomona.packages.service import PackageService
from pomona.queue.jobs import JobService
from pomona.settings import Settings
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
    packages = PackageService.build(db, settings, enqueue=tasks.finalise)
    titles = TitleService(db, on_change=on_titles_change)
    jobs = JobService(db)
    return Services(
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
        jamf=JamfService.build(db, settings, packages, jobs, enqueue=tasks.jamf),
    )
