"""The values the package store hands out and takes in, each defined here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Literal

Outcome = Literal["created", "replaced", "unchanged", "pending"]


@dataclass(frozen=True, slots=True)
class PackageInfo:
    filename: str
    size: int
    sha256: str
    md5: str
    sha512: str
    chunk_size: int
    chunk_count: int
    notes: str | None
    tags: list[str]
    uploader: str
    created_at: datetime
    uploaded_at: datetime
    updated_at: datetime
    verified_at: datetime | None = None
    quarantined: str | None = None  # why the stored bytes are not served


@dataclass(frozen=True, slots=True)
class Published:
    package: PackageInfo
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class Located:
    """What a download needs: where the bytes are and how to describe them."""

    filename: str
    sha256: str
    size: int
    modified: datetime
    key: str


@dataclass(frozen=True, slots=True)
class Page:
    items: list[PackageInfo]
    total: int


class Keep(Enum):
    """A field of an edit that leaves the value as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True, slots=True)
class PackageEdit:
    """A change to a package's record: new notes (``None`` clears them) and/or the stage tags
    that replace the current ones. Checked by whoever built it (the API's model)."""

    notes: str | Keep | None = KEEP
    tags: list[str] | Keep = KEEP


@dataclass(frozen=True, slots=True)
class UploadState:
    upload_id: str
    filename: str
    length: int
    offset: int
    metadata: str
    expires_at: datetime
    published: Published | None = None


@dataclass(slots=True)
class CleanupReport:
    uploads: int = 0
    partial_files: int = 0
    history: int = 0
    blobs: int = 0
    orphans: int = 0
    removed_keys: list[str] = field(default_factory=list)
    stalled: list[str] = field(default_factory=list)  # pending publications to try again


@dataclass(slots=True)
class ScrubReport:
    checked: int = 0
    bytes: int = 0
    quarantined: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "bytes": self.bytes, "quarantined": self.quarantined}
