"""What the package store hands out and the rows it writes beside a package.

Shared by :mod:`pomona.packages.service` and the parts of the service kept in their own modules
(:mod:`pomona.packages.uploads`, :mod:`pomona.packages.maintenance`), which cannot import
``service.py`` since it imports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson

from pomona.db import utcnow
from pomona.packages.models import Package, PackageEvent, PackageHistory

Outcome = Literal["created", "replaced", "unchanged", "pending"]


def blob_key(sha256: str) -> str:
    return f"blobs/{sha256[:2]}/{sha256}"


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


def history_row(row: Package, now: datetime, reason: str) -> PackageHistory:
    return PackageHistory(
        filename=row.filename,
        sha256=row.sha256,
        size=row.size,
        uploader=row.uploader,
        uploaded_at=row.uploaded_at,
        superseded_at=now,
        reason=reason,
    )


def event_row(kind: str, row: Package, actor: str, detail: dict[str, Any] | None) -> PackageEvent:
    return PackageEvent(
        kind=kind,
        filename=row.filename,
        sha256=row.sha256,
        size=row.size,
        actor=actor,
        created_at=utcnow(),
        detail=orjson.dumps(detail).decode() if detail is not None else None,
    )
