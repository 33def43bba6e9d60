"""The values the subscription service takes and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pomona.errors import Problem

DEFINITION = "definition"  # the kind of a subscription to a remote definition

# What a check found: the upstream answered 304 or the same document (unchanged), the title
# was written (updated, created, version_added), a version source has nothing newer
# (up_to_date), or the check failed and the title kept its last good state (failed).
Outcome = Literal["unchanged", "updated", "created", "version_added", "up_to_date", "failed"]


@dataclass(slots=True)
class CheckReport:
    subscription_id: int
    title_id: str
    outcome: Outcome
    dry_run: bool = False
    revision: int | None = None
    summary: str = ""
    diff: dict[str, Any] | None = None
    versions_found: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    problems: list[Problem] = field(default_factory=list)
    # The upstream document this check read (definitions): kept as the last good one.
    upstream: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "subscriptionId": self.subscription_id,
            "titleId": self.title_id,
            "outcome": self.outcome,
            "dryRun": self.dry_run,
            "revision": self.revision,
            "summary": self.summary,
            "diff": self.diff,
            "versionsFound": self.versions_found,
            "notes": self.notes,
            "error": self.error,
            "problems": [
                {"path": p.path, "message": p.message, "code": p.code} for p in self.problems
            ],
        }


@dataclass(frozen=True, slots=True)
class NewSubscription:
    """What a subscribe request asks for; the service checks all of it."""

    url: str
    title_id: str | None = None
    kind: str = DEFINITION
    options: dict[str, Any] = field(default_factory=dict)
    every_seconds: int | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    namespace: str = "default"


@dataclass(frozen=True, slots=True)
class Served:
    """A subscribed title's three layers: upstream, overrides, what is served, and the diff
    from the first to the last."""

    upstream: dict[str, Any] | None
    overrides: dict[str, Any]
    served: dict[str, Any] | None
    diff: dict[str, Any] | None
    notes: list[str]


@dataclass(frozen=True, slots=True)
class SourceSummary:
    """Where a title comes from, as a list of titles shows it: a subscription's kind, whether
    it is attached, how its checks go and the newest version upstream has."""

    title_id: str
    kind: str
    attached: bool
    failures: int
    latest_version: str | None
    last_error: str | None


__all__ = [
    "DEFINITION",
    "CheckReport",
    "NewSubscription",
    "Outcome",
    "Served",
    "SourceSummary",
]
