"""The subscription service, in parts by what each does: records (subscribe, edit, detach,
the scan for due checks), checks (fetch and apply), the served layers and overrides, and
subscribing to many titles of another patch source at once."""

from __future__ import annotations

from typing import Any

from pomona.audit.service import Who
from pomona.auth.scopes import Principal
from pomona.errors import Conflict, Forbidden, Invalid, Problem
from pomona.queue.jobs import params_of, principal_of
from pomona.queue.models import Job
from pomona.subscriptions.services.served import SubscriptionLayers
from pomona.subscriptions.values import NewSubscription
from pomona.titles.sources import remote_ids

# The kind of the job that subscribes to many titles of another source, and its task's name.
SUBSCRIBE_REMOTE = "subscriptions.subscribe-remote"
# The kind of the job of an on-demand check, and its task's name.
CHECK = "subscriptions.check"


class SubscriptionService(SubscriptionLayers):
    """Every operation on subscriptions; built once per process by ``pomona.container``."""

    async def subscribe_many(
        self,
        base: str,
        ids: list[str] | None,
        who: Who,
        *,
        every_seconds: int | None = None,
        namespace: str = "default",
        caller: Principal | None = None,
    ) -> dict[str, Any]:
        """Subscribe to every title (or the ``ids``) of the patch source at ``base``: its
        ``/software`` lists them (fetched: run in a job). Titles already subscribed are
        skipped and reported."""
        root = base.rstrip("/")
        listed = await remote_ids(root, self.settings)
        wanted = listed if ids is None else ids
        missing = [i for i in wanted if i not in listed]
        if missing:
            raise Invalid(
                [Problem("/ids", f"{root}/software does not list: {', '.join(missing[:20])}")],
                code="remote_title_not_found",
            )
        created, skipped = [], []
        for title_id in wanted:
            asked = NewSubscription(
                f"{root}/patch/{title_id}",
                title_id,
                every_seconds=every_seconds,
                namespace=namespace,
            )
            try:
                row = await self.subscribe(asked, who, caller)
            except (Conflict, Invalid, Forbidden) as exc:
                skipped.append({"titleId": title_id, "reason": str(exc)[:500]})
            else:
                created.append({"id": row.pk, "titleId": title_id})
        return {"created": created, "skipped": skipped}

    async def subscribe_remote(self, job: Job) -> dict[str, Any]:
        """The work of a ``subscriptions.subscribe-remote`` job."""
        params = params_of(job)
        return await self.subscribe_many(
            params["url"],
            params.get("ids"),
            Who.of(job.actor, job.client),
            every_seconds=params.get("every"),
            namespace=params.get("namespace") or "default",
            caller=principal_of(job),
        )

    async def check_job(self, job: Job) -> dict[str, Any]:
        """The work of a ``subscriptions.check`` job: the check's report."""
        params = params_of(job)
        report = await self.check(int(params["subscription"]), dry_run=bool(params["dryRun"]))
        return report.as_dict()


__all__ = ["CHECK", "SUBSCRIBE_REMOTE", "SubscriptionService"]
