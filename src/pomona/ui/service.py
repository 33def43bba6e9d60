"""What the pages show, gathered from the domains' services: the UI reads through them and
writes only through them, so it has no rule of its own to drift from the API's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pomona.audit.models import AuditEvent
from pomona.auth.scopes import Principal
from pomona.container import Services
from pomona.jamf.values import ConnectionInfo, PushInfo
from pomona.ops.health import Check
from pomona.replication.values import Holding
from pomona.subscriptions.values import DEFINITION, SourceSummary
from pomona.titles.models import Title, TitleState
from pomona.titles.ordering import version_key

STATES = ("enabled", "disabled")
# Where a title comes from: made here (or detached), a remote definition it follows, or a
# version source that adds its new versions.
SOURCES = ("local", "subscribed", "self-updating")


@dataclass(slots=True)
class TitleRow:
    title_id: str
    namespace: str
    name: str
    publisher: str
    current_version: str
    last_modified: str  # as the list shows it: 2024-05-01 12:00
    enabled: bool
    disabled_versions: int
    source: str = "local"  # one of SOURCES
    upstream_version: str | None = None  # the newest version upstream, if subscribed
    behind: bool = False  # upstream has a newer version than the title serves
    failing: bool = False  # its subscription's last check failed


@dataclass(slots=True)
class TitleList:
    rows: list[TitleRow]
    total: int  # matching the search and filters
    namespaces: list[str]


@dataclass(slots=True)
class Dashboard:
    checks: list[Check]
    titles: int
    disabled: list[TitleRow]
    with_disabled_versions: list[TitleRow]
    packages: int
    quarantined: list[str]
    audit: list[AuditEvent] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return all(c.ok for c in self.checks)


def _row(title: Title, source: SourceSummary | None = None) -> TitleRow:
    state = TitleState.load(title.state)
    row = TitleRow(
        title.title_id,
        title.namespace,
        title.name,
        title.publisher,
        title.current_version,
        title.last_modified.isoformat(sep=" ", timespec="minutes")[:16],
        state.enabled,
        len(state.disabled_versions),
    )
    if source is not None and source.attached:
        row.source = "subscribed" if source.kind == DEFINITION else "self-updating"
        row.upstream_version = source.latest_version
        row.behind = source.latest_version is not None and version_key(
            source.latest_version
        ) > version_key(title.current_version)
        row.failing = source.failures > 0
    return row


@dataclass(frozen=True, slots=True)
class TitleFilter:
    """The titles list's filters beyond the search: state, source, behind, failing."""

    state: str | None = None
    source: str | None = None
    behind: bool = False
    failing: bool = False

    def keeps(self, row: TitleRow) -> bool:
        return (
            (self.state not in STATES or row.enabled == (self.state == "enabled"))
            and (self.source not in SOURCES or row.source == self.source)
            and (row.behind or not self.behind)
            and (row.failing or not self.failing)
        )


class UiService:
    """Read models of the pages, built on the services of one process."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def titles(
        self,
        *,
        query: str | None = None,
        namespace: str | None = None,
        only: TitleFilter | None = None,
        offset: int = 0,
        limit: int = 500,
    ) -> TitleList:
        """The titles matching the search and the filters, ordered by id; a page of them. The
        sources of all titles come from one query, not one per row."""
        found = await self.services.titles.search(
            query=query or None,
            offset=0,
            limit=1_000_000,
            namespace=namespace or None,
            documents=False,
        )
        sources = await self.services.subscriptions.summaries()
        keep = only or TitleFilter()
        rows = [r for r in (_row(t, sources.get(t.title_id)) for t in found.items) if keep.keeps(r)]
        spaces = [n.slug for n in await self.services.titles.namespaces()]
        return TitleList(rows[offset : offset + limit], len(rows), spaces)

    async def dashboard(self, caller: Principal) -> Dashboard:
        services = self.services
        found = await services.titles.search(query=None, offset=0, limit=1_000_000, documents=False)
        rows = [_row(t) for t in found.items]
        packages = await services.packages.catalog.search(
            query=None, tag=None, offset=0, limit=1000
        )
        board = Dashboard(
            checks=await services.ops.checks(),
            titles=len(rows),
            disabled=[r for r in rows if not r.enabled],
            with_disabled_versions=[r for r in rows if r.enabled and r.disabled_versions],
            packages=packages.total,
            quarantined=[p.filename for p in packages.items if p.quarantined],
        )
        if caller.allows("admin"):
            board.audit = (await services.audit.search(limit=10)).items
        return board

    async def places(self, filename: str, caller: Principal) -> Places:
        """Where the package is: its peers as the package API shows them, and for admins the
        latest push to each Jamf Pro connection."""
        services = self.services
        peers = await services.replication.holdings(filename)
        stages = set(services.settings.replication_stages)
        if not caller.allows("admin"):
            return Places(peers, None, sorted(stages))
        jamf = services.jamf
        latest: dict[str, PushInfo] = {}
        for push in await jamf.pushes.search(filename=filename, limit=500):  # newest first
            latest.setdefault(push.connection, push)
        found = [JamfPlace(c, latest.get(c.name)) for c in await jamf.connections.list()]
        stages.update(r.tag for r in await jamf.rules.list())
        stages.update(s for p in await services.replication.peers.all() for s in p.stages)
        return Places(peers, found, sorted(stages))

    @staticmethod
    def definition(record_title: Any) -> dict[str, Any]:
        """A title as the editable JSON document (the Jamf format, by alias)."""
        dumped: dict[str, Any] = record_title.model_dump(by_alias=True, mode="json")
        return dumped


@dataclass(frozen=True, slots=True)
class JamfPlace:
    """A Jamf Pro connection and the latest push of one package to it, if any."""

    connection: ConnectionInfo
    push: PushInfo | None


@dataclass(frozen=True, slots=True)
class Places:
    """Where a package is: per peer (as the package API shows it) and, for admins, per Jamf Pro
    connection (``None``: the caller may not see the connections); and where it may go."""

    peers: list[Holding]
    jamf: list[JamfPlace] | None
    stages: list[str]  # the stages this site knows of: its own, its peers', its push rules'

    @property
    def moving(self) -> bool:
        """Whether something is under way, so that the page follows it."""
        pushing = any(p.push and p.push.status in ("queued", "running") for p in self.jamf or [])
        return pushing or any(h.state in ("queued", "running") for h in self.peers)
