"""The Jamf Pro companion, composed of its parts; knows no HTTP.

Everything that talks to Jamf Pro runs as a job (:data:`PUSH`, :data:`CHECK`, :data:`REMOVE`,
:data:`CONNECT`, :data:`DISCONNECT`), whose work :meth:`JamfService.run` does in a queue worker:
a route records the job, the queue runs it, the client follows it by id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pomona.audit.service import Who
from pomona.db import Database
from pomona.errors import Invalid
from pomona.jamf import linking, privileges, removal
from pomona.jamf.client import TokenCache
from pomona.jamf.connections import Connections
from pomona.jamf.pushes import PUSH, Pushes
from pomona.jamf.rules import Rules
from pomona.packages.service import PackageService
from pomona.queue.jobs import JobService, params_of
from pomona.queue.models import Job
from pomona.settings import Settings

CHECK = "jamf.check"
REMOVE = "jamf.remove"
CONNECT = "jamf.connect"
DISCONNECT = "jamf.disconnect"
KINDS = (PUSH, CHECK, REMOVE, CONNECT, DISCONNECT)


def link_options(params: dict[str, Any]) -> linking.LinkOptions:
    return linking.LinkOptions(
        name=params.get("name") or "Pomona",
        distribution_point=bool(params.get("distributionPoint")),
        webhook_url=params.get("webhookUrl"),
        webhook_events=tuple(params.get("webhookEvents") or ("PatchSoftwareTitleUpdated",)),
    )


@dataclass(frozen=True, slots=True)
class JamfService:
    db: Database
    settings: Settings
    connections: Connections
    pushes: Pushes
    rules: Rules

    @classmethod
    def build(
        cls,
        db: Database,
        settings: Settings,
        packages: PackageService,
        jobs: JobService,
        *,
        enqueue: Callable[[str], object] | None = None,
    ) -> JamfService:
        """``enqueue`` queues a job's task (the rules start pushes with it)."""
        connections = Connections(db, settings, TokenCache())
        pushes = Pushes(db, settings, connections, packages, jobs)
        rules = Rules(db, connections, pushes, packages.catalog, enqueue)
        return cls(db, settings, connections, pushes, rules)

    async def run(self, job: Job) -> dict[str, Any]:
        """The work of any of the domain's jobs."""
        if job.kind == PUSH:
            return await self.pushes.run(job)
        params = params_of(job)
        who = Who(job.actor, client=job.client)
        connection = str(params["connection"])
        async with await self.connections.client(connection) as jamf:
            if job.kind == CHECK:
                return (await privileges.check(jamf)).as_dict()
            if job.kind == REMOVE:
                return await removal.remove(
                    self.db,
                    jamf,
                    connection,
                    str(params["filename"]),
                    with_record=bool(params.get("record")),
                    force=bool(params.get("force")),
                    dry_run=bool(params.get("dryRun")),
                    who=who,
                )
            options = link_options(params)
            if job.kind == CONNECT:
                items = linking.wanted(self.settings.public_url, options)
                return await linking.apply(
                    self.db, jamf, connection, items, dry_run=bool(params.get("dryRun")), who=who
                )
            if job.kind == DISCONNECT:
                return await linking.undo(
                    self.db, jamf, connection, options, dry_run=bool(params.get("dryRun")), who=who
                )
        raise Invalid(f"'{job.kind}' is not a job of the Jamf Pro companion", code="job_kind")
