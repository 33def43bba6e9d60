"""The values the title service takes and returns: who writes, what was written, what a
restore or import brings in and what became of it. Each is defined here and nowhere else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast, get_args

from sqlalchemy.ext.asyncio import AsyncSession

from pomona.audit.service import Who
from pomona.errors import Problem
from pomona.titles.models import Title, TitleState
from pomona.titles.namespaces import DEFAULT
from pomona.titles.schemas import SoftwareTitle


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change, for the revision record."""

    name: str
    reason: str | None = None
    client: str | None = None  # the caller's address, for the audit log
    # The namespaces the author may write titles in (None: all). Checked where each title is
    # written, under the write lock, so a title's namespace is the one it has then.
    namespaces: frozenset[str] | None = None
    via: str | None = None  # how a person signed in (the audit log's ``via``)

    @property
    def who(self) -> Who:
        return Who.of(self.name, self.client, self.via)


@dataclass(frozen=True, slots=True)
class TitleRecord:
    title: SoftwareTitle
    revision: int
    created_at: datetime
    state: TitleState = field(default_factory=TitleState)
    namespace: str = DEFAULT


@dataclass(slots=True)
class WriteResult:
    title: SoftwareTitle
    revision: int
    created: bool = False
    warnings: list[Problem] = field(default_factory=list)
    database_id: int = 0
    state: TitleState = field(default_factory=TitleState)
    summary: str = ""
    namespace: str = DEFAULT


@dataclass(frozen=True, slots=True)
class TitlePage:
    """One page of a title search, and how many titles matched in all."""

    items: list[Title]
    total: int


# What a restore or import does with an id that exists (see ``TitleImports.apply_many``).
Policy = Literal["skip", "replace", "copy"]
POLICIES: tuple[str, ...] = get_args(Policy)
# What became of one incoming document.
Result = Literal["create", "replace", "copy", "skip"]
RESULTS: tuple[Result, ...] = get_args(Result)


@dataclass(frozen=True, slots=True)
class Incoming:
    """One document to restore or import, and where it came from (for error paths)."""

    source: str
    document: Any
    state: TitleState | None = None
    history: list[dict[str, Any]] | None = None
    namespace: str | None = None  # the namespace a backup kept it in


@dataclass(slots=True)
class Gathered:
    """The definitions read from an upload, a folder or another patch source, and the names of
    the files that were not definitions."""

    items: list[Incoming] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def merge(self, other: Gathered) -> None:
        self.items.extend(other.items)
        self.ignored.extend(other.ignored)


@dataclass(slots=True)
class ImportOutcome:
    """What became of one incoming document in a restore or import."""

    source: str
    id: str
    result: Result
    revision: int | None = None
    database_id: int | None = None
    warnings: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "id": self.id,
            "result": self.result,
            "revision": self.revision,
            "warnings": [w.as_dict() for w in self.warnings],
        }


# Work done inside a bulk write's transaction, with its outcomes (``apply_many``).
Then = Callable[[AsyncSession, list[ImportOutcome]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ImportReport:
    """The report of a restore or import: what the request answers, what a job keeps."""

    outcomes: list[ImportOutcome]
    ignored: list[str]
    policy: str
    dry_run: bool

    def count(self, result: Result) -> int:
        return sum(o.result == result for o in self.outcomes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dryRun": self.dry_run,
            "policy": self.policy,
            "created": self.count("create"),
            "replaced": self.count("replace"),
            "copied": self.count("copy"),
            "skipped": self.count("skip"),
            "items": [o.as_dict() for o in self.outcomes],
            "ignored": self.ignored,
        }


@dataclass(frozen=True, slots=True)
class RemoteImport:
    """An import from another patch source: its feed base, the titles wanted (None for all),
    and what to do with ids that exist. Kept as a job's parameters."""

    url: str
    ids: list[str] | None = None
    policy: Policy = "skip"
    dry_run: bool = False
    namespace: str | None = None  # where new titles go (see ``TitleImports.apply_many``)

    def as_params(self) -> dict[str, Any]:
        params = {"url": self.url, "ids": self.ids, "policy": self.policy, "dryRun": self.dry_run}
        return params | ({"namespace": self.namespace} if self.namespace is not None else {})

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> RemoteImport:
        policy = cast(Policy, params["policy"])  # checked by the route that made the job
        return cls(
            params["url"],
            params.get("ids"),
            policy,
            bool(params["dryRun"]),
            params.get("namespace"),
        )


@dataclass(frozen=True, slots=True)
class Exported:
    id: str
    document: dict[str, Any]
    state: TitleState
    revision: int
    history: list[dict[str, Any]]
    namespace: str = DEFAULT
