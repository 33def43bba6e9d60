"""The events the package store emits: a package published, replaced, deleted or quarantined."""

from __future__ import annotations

from pydantic import BaseModel, Field

from pomona.events.types import EventType


class PackageChange(BaseModel):
    """A package record as the change left it."""

    filename: str = Field(description="The package's file name, as served at `/Packages/`.")
    sha256: str = Field(description="The SHA-256 of its content (hex).")
    size: int = Field(description="Its size in bytes.")
    previousSha256: str | None = Field(
        None, description="The content it replaced (`package.replaced`)."
    )
    reason: str | None = Field(None, description="Why it was quarantined (`package.quarantined`).")


def _package(name: str, summary: str) -> EventType[PackageChange]:
    return EventType(f"package.{name}", summary, PackageChange)


PUBLISHED = _package("published", "A new package was uploaded, verified and published.")
REPLACED = _package("replaced", "A package's content was replaced by a new upload.")
DELETED = _package("deleted", "A package was deleted (its content stays in the history).")
QUARANTINED = _package(
    "quarantined", "The scrub found a package's stored content no longer matching its hash."
)

TYPES = (PUBLISHED, REPLACED, DELETED, QUARANTINED)
