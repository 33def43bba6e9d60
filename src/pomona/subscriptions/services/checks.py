"""Checks: fetch what a subscription follows, and apply it through the title write service.

A definition is fetched conditionally (``If-None-Match``, ``If-Modified-Since``), laid under
the overrides, validated like any other definition and written as a new revision of the title
by ``subscription:<id>``. A version source's newest version, when the title lacks it, becomes
a new version made from the newest one. Whatever fails (the fetch, the document, the
validation) is recorded on the subscription and emitted as ``subscription.failed``; the title
keeps its last good state, because nothing is written to it.

The title's write and the subscription's record of it are two transactions: a crash between
them leaves the title written and the subscription without the new validators, so the next
check fetches again, finds the document the title already has and writes nothing.
"""

from __future__ import annotations

from typing import Any

import orjson

from pomona.audit.service import Who, record
from pomona.db import utcnow
from pomona.errors import Conflict, DomainError, Invalid, NotFound
from pomona.net import Fetched, fetch_answer
from pomona.packages.catalog import PackageCatalog
from pomona.subscriptions.events import FAILED, SYNCED, VERSION_DISCOVERED
from pomona.subscriptions.models import Subscription
from pomona.subscriptions.overrides import apply
from pomona.subscriptions.services.records import (
    SubscriptionRecords,
    announce,
    canonical,
    next_time,
    options_of,
    overrides_of,
    subject,
    upstream_of,
)
from pomona.subscriptions.values import DEFINITION, CheckReport
from pomona.subscriptions.version_sources import PLUGINS, newest
from pomona.titles.history import diff
from pomona.titles.models import TitleState
from pomona.titles.ordering import version_key
from pomona.titles.services.revisions import check_off_loop
from pomona.titles.sources import fetch_policy, remote_json
from pomona.titles.templates import from_newest
from pomona.titles.values import Actor


def actor_of(row: Subscription) -> Actor:
    """The author of a subscription's writes: limited to the subscription's namespace, so a
    sync can never write a title another namespace holds."""
    return Actor(
        f"subscription:{row.pk}",
        f"sync from {row.url}"[:2000],
        namespaces=frozenset({row.namespace}),
    )


class SubscriptionChecks(SubscriptionRecords):
    async def check(self, pk: int, *, dry_run: bool = False) -> CheckReport:
        """Check one subscription now; with ``dry_run``, say what the check would do and
        write nothing (not even the outcome)."""
        row = await self.get(pk)
        if not row.attached:
            raise Conflict(
                f"subscription {pk} is detached; attach it again to check it",
                code="subscription_detached",
            )
        try:
            answer = await fetch_answer(
                row.url,
                fetch_policy(self.settings),
                accept=PLUGINS[row.kind].accept if row.kind in PLUGINS else "application/json",
                follow=PLUGINS[row.kind].follow if row.kind in PLUGINS else True,
                etag=None if dry_run else row.etag,
                last_modified=None if dry_run else row.last_modified_header,
            )
            if answer.status == 304:
                report = CheckReport(
                    row.pk, row.title_id, "unchanged", dry_run, summary="not modified upstream"
                )
            elif row.kind == DEFINITION:
                report = await self._definition(row, answer, dry_run)
            else:
                report = await self._version(row, answer, dry_run)
        except DomainError as exc:
            report = CheckReport(
                row.pk,
                row.title_id,
                "failed",
                dry_run,
                error=str(exc)[:2000],
                problems=exc.problems,
            )
            if not dry_run:
                await self._failed(row, report)
            return report
        if row.kind != DEFINITION and not dry_run:
            await self._release(row, report)
        if not dry_run:
            await self._succeeded(row, report, answer)
        return report

    async def _release(self, row: Subscription, report: CheckReport) -> None:
        """Enable the versions this source added that wait for their package, once it is
        published (before, they stay disabled: Jamf Pro never sees a version whose installer
        is missing)."""
        package = options_of(row).package
        if package is None:
            return
        candidates = {row.latest_version, *report.versions_found} - {None}
        state = TitleState.load((await self.titles.row(row.title_id)).state)
        for version in sorted(v for v in candidates if v in state.disabled_versions):
            filename = package.replace("{version}", version)
            if self.packages is None or not await _published(self.packages, filename):
                report.notes.append(f"version {version} waits for package '{filename}'")
                continue
            await self.titles.set_enabled(row.title_id, True, actor_of(row), version=version)
            report.notes.append(f"version {version} enabled: package '{filename}' is published")

    # -- definitions -----------------------------------------------------------------------------

    async def _definition(self, row: Subscription, answer: Fetched, dry_run: bool) -> CheckReport:
        upstream = remote_json(answer.body, row.url)
        if not isinstance(upstream, dict):
            raise Invalid(f"{row.url} is not a definition (a JSON object)", code="not_definition")
        applied = apply(upstream, overrides_of(row), row.title_id)
        checked = await check_off_loop(applied.document)
        document = checked.title.to_jamf()
        current, state = await self._current(row.title_id)
        report = CheckReport(row.pk, row.title_id, "unchanged", dry_run, notes=applied.notes)
        report.versions_found = [p.version for p in checked.title.patches]
        changes = diff(current, state, document, state)
        report.diff = changes.as_dict()
        if current is not None and changes.empty():
            report.summary = "the title is as upstream and the overrides make it"
            report.upstream = upstream
            return report
        report.outcome = "updated" if current is not None else "created"
        report.summary = changes.summary() if current is not None else "created from upstream"
        if not dry_run:
            actor = actor_of(row)
            if current is None:
                result = await self.titles.create(applied.document, actor, namespace=row.namespace)
            else:
                result = await self.titles.replace(row.title_id, applied.document, actor)
            report.revision, report.summary = result.revision, result.summary
        report.upstream = upstream
        return report

    async def _current(self, title_id: str) -> tuple[dict[str, Any] | None, TitleState]:
        try:
            row = await self.titles.row(title_id)
        except NotFound:
            return None, TitleState()
        return orjson.loads(row.document), TitleState.load(row.state)

    # -- version sources -------------------------------------------------------------------------

    async def _version(self, row: Subscription, answer: Fetched, dry_run: bool) -> CheckReport:
        plugin = PLUGINS[row.kind]
        options = options_of(row)
        found = plugin.read(answer, options)
        best = newest(found, options)
        if best is None:
            raise Invalid(
                f"{row.url} lists no version ({len(found)} found, none usable)",
                code="no_version_found",
            )
        record_ = await self.titles.get(row.title_id)
        title = record_.title
        report = CheckReport(
            row.pk, row.title_id, "up_to_date", dry_run, versions_found=[best.version]
        )
        known = [p.version for p in title.patches]
        if best.version in known or version_key(best.version) <= version_key(title.currentVersion):
            report.summary = f"newest is {best.version}; the title has {title.currentVersion}"
            return report
        patch = from_newest(
            title.to_jamf(),
            best.version,
            release_date=best.release_date,
            minimum_os=best.minimum_os,
        )
        report.outcome = "version_added"
        report.summary = f"version {best.version} from {plugin.name}"
        report.diff = {"patch": patch}
        if dry_run:
            document: dict[str, Any] = title.to_jamf()
            await check_off_loop({**document, "patches": [patch, *document["patches"]]})
        else:
            result = await self.titles.add_version_from_newest(
                row.title_id,
                best.version,
                actor_of(row),
                release_date=best.release_date,
                minimum_os=best.minimum_os,
                draft=options.draft or options.package is not None,
                source=f"{plugin.name} {row.url}"[:300],
            )
            report.revision, report.summary = result.revision, result.summary
        return report

    # -- outcomes --------------------------------------------------------------------------------

    async def _succeeded(self, row: Subscription, report: CheckReport, answer: Fetched) -> None:
        now = utcnow()
        who = Who(f"subscription:{row.pk}")
        upstream = report.upstream
        async with self.db.transaction() as session:
            fresh = await session.get(Subscription, row.pk)
            if fresh is None:  # deleted while it was checked
                return
            before = upstream_of(fresh)
            if answer.status == 200:
                fresh.etag, fresh.last_modified_header = answer.etag, answer.last_modified
            if upstream is not None:
                fresh.upstream = canonical(upstream)
            discovered = _discovered(before, upstream, report)
            found_first = report.versions_found[0] if report.versions_found else None
            latest = newest_upstream(upstream) or found_first
            if latest:
                fresh.latest_version = latest[:255]
            fresh.last_checked_at = fresh.last_success_at = now
            fresh.last_error, fresh.failures = None, 0
            fresh.next_check_at = max(fresh.next_check_at, next_time(now, fresh.every_seconds))
            changed = report.revision is not None
            await record(
                session,
                who,
                "subscription.sync",
                subject(fresh),
                f"{report.outcome}: {report.summary}",
            )
            await announce(
                session,
                who,
                fresh,
                SYNCED,
                revision=report.revision,
                changed=changed,
                summary=report.summary[:1024],
            )
            for version in discovered:
                await announce(
                    session, who, fresh, VERSION_DISCOVERED, version=version, added=changed
                )

    async def _failed(self, row: Subscription, report: CheckReport) -> None:
        now = utcnow()
        who = Who(f"subscription:{row.pk}")
        async with self.db.transaction() as session:
            fresh = await session.get(Subscription, row.pk)
            if fresh is None:
                return
            fresh.last_checked_at, fresh.last_error = now, report.error
            fresh.failures += 1
            fresh.next_check_at = max(fresh.next_check_at, next_time(now, fresh.every_seconds))
            await record(session, who, "subscription.fail", subject(fresh), report.error)
            await announce(
                session, who, fresh, FAILED, error=report.error or "", failures=fresh.failures
            )


async def _published(packages: PackageCatalog, filename: str) -> bool:
    try:
        await packages.get(filename)
    except NotFound:
        return False
    return True


def newest_upstream(upstream: dict[str, Any] | None) -> str | None:
    """The newest version of an upstream definition, before the overrides (a hold keeps the
    title behind it): what "upstream at" and the titles list's "behind upstream" compare."""
    versions = [
        p["version"]
        for p in (upstream or {}).get("patches") or []
        if isinstance(p, dict) and isinstance(p.get("version"), str)
    ]
    return max(versions, key=version_key) if versions else None


def _discovered(
    before: dict[str, Any] | None,
    upstream: dict[str, Any] | None,
    report: CheckReport,
) -> list[str]:
    """Versions this check found that the last good one did not have."""
    if upstream is not None:
        old = {p.get("version") for p in (before or {}).get("patches", []) if isinstance(p, dict)}
        return [v for v in report.versions_found if v not in old] if before is not None else []
    return report.versions_found if report.outcome == "version_added" else []


__all__ = ["SubscriptionChecks", "actor_of", "newest_upstream"]
