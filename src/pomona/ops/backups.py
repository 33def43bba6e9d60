"""Scheduled backups: every title with its history, the package records and the settings, as
one zip in a directory or an S3 bucket, the oldest removed beyond ``backup_keep``.

The zip is the API's backup (``patch_archive/<id>.json``, the titles' states, their history), so
``pomona restore`` takes it as it is, plus ``pomona/packages.json`` (the package records) and
``pomona/settings.json`` (the settings, secrets left out), which a restore lists as ignored.
Package bytes are not in it: they belong to the storage's own backup (docs/operations.md).
"""

from __future__ import annotations

import logging
import os
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import orjson
from anyio import to_thread

from pomona.errors import Invalid
from pomona.packages.catalog import PackageCatalog
from pomona.packages.storage import LocalStorage, S3Storage, Storage
from pomona.settings import Settings
from pomona.titles.archive import META_FOLDER, write_archive
from pomona.titles.values import Exported

PACKAGES = f"{META_FOLDER}/packages.json"
SETTINGS = f"{META_FOLDER}/settings.json"
PREFIX, SUFFIX = "pomona-backup-", ".zip"
PAGE = 500
log = logging.getLogger("pomona.backups")


@dataclass(frozen=True, slots=True)
class Made:
    name: str
    where: str
    titles: int
    packages: int
    size: int
    removed: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "where": self.where,
            "titles": self.titles,
            "packages": self.packages,
            "bytes": self.size,
            "removed": self.removed,
        }


def backup_time(value: str) -> time:
    """``HH:MM`` (UTC) as a time; refuses anything else with the setting's name."""
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise Invalid(
            f"backup_time {value!r}: write the time of day as HH:MM (UTC), e.g. 02:30",
            "/backup_time",
            code="backup_time_invalid",
        ) from None


def target_of(settings: Settings) -> tuple[Storage, str]:
    """Where backups go, and how to name it: ``backup_target`` (a directory, or
    ``s3://bucket/prefix`` with the package store's S3 credentials and endpoint), by default
    ``<data_dir>/backups``."""
    given = settings.backup_target or str(settings.data_dir / "backups")
    if given.startswith("s3://"):
        bucket, _, prefix = given.removeprefix("s3://").partition("/")
        secret = settings.s3_secret_access_key
        store = S3Storage(
            bucket,
            prefix=prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
        )
        return store, given
    folder = Path(given).expanduser()
    return LocalStorage(folder), str(folder.resolve())


def visible_settings(settings: Settings) -> dict[str, Any]:
    """The settings as JSON; secrets show as ``**********`` (pydantic's own mask)."""
    found: dict[str, Any] = settings.model_dump(mode="json")
    return found


def write_backup(
    titles: list[Exported], packages: list[dict[str, Any]], settings: dict[str, Any], path: Path
) -> None:
    """The zip: titles with history (the API's backup), then the records and the settings."""
    with path.open("wb") as target:
        write_archive(titles, history=True, target=target)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(PACKAGES, orjson.dumps(packages, option=orjson.OPT_INDENT_2))
        archive.writestr(SETTINGS, orjson.dumps(settings, option=orjson.OPT_INDENT_2))


def _record(info: Any) -> dict[str, Any]:
    return {
        "filename": info.filename,
        "size": info.size,
        "sha256": info.sha256,
        "md5": info.md5,
        "sha512": info.sha512,
        "notes": info.notes,
        "tags": list(info.tags),
        "uploader": info.uploader,
        "createdAt": info.created_at.isoformat(),
    }


class Backups:
    """Makes a backup now and keeps the newest ``backup_keep``."""

    def __init__(
        self,
        settings: Settings,
        export: Callable[[], Any],
        catalog: PackageCatalog,
        target: tuple[Storage, str] | None = None,
    ) -> None:
        self.settings = settings
        self._export = export  # TitleService.export(history=True)
        self.catalog = catalog
        self._target = target

    @property
    def target(self) -> tuple[Storage, str]:
        """Built on first use: a process that never backs up makes no directory."""
        if self._target is None:
            self._target = target_of(self.settings)
        return self._target

    async def _packages(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        while True:
            page = await self.catalog.search(query=None, tag=None, offset=len(records), limit=PAGE)
            records.extend(_record(p) for p in page.items)
            if not page.items or len(records) >= page.total:
                return records

    async def make(self, now: datetime | None = None) -> Made:
        moment = now or datetime.now(UTC)
        name = f"{PREFIX}{moment:%Y%m%d-%H%M%S}{SUFFIX}"
        titles = await self._export()
        packages = await self._packages()
        settings = visible_settings(self.settings)
        scratch = Path(tempfile.mkdtemp(prefix="pomona-backup-"))
        path = scratch / name
        try:
            await to_thread.run_sync(write_backup, titles, packages, settings, path)
            size = path.stat().st_size
            # Stored whole or not at all: a local rename, or an S3 upload that shows on completion.
            store, where = self.target
            await to_thread.run_sync(store.put_file, name, path)
        finally:
            path.unlink(missing_ok=True)
            os.rmdir(scratch)
        removed = await to_thread.run_sync(self.prune)
        made = Made(name, where, len(titles), len(packages), size, removed)
        log.info(
            "backup %s to %s: %d titles, %d package records, %d old backups removed",
            name,
            where,
            made.titles,
            made.packages,
            len(removed),
        )
        return made

    def names(self) -> list[str]:
        """The backups in the target, oldest first (their names sort by time)."""
        found = [
            info.key
            for info in self.target[0].list(PREFIX)
            if "/" not in info.key and info.key.endswith(SUFFIX)
        ]
        return sorted(found)

    def prune(self) -> list[str]:
        """Remove all but the newest ``backup_keep`` backups."""
        names = self.names()
        extra = names[: max(len(names) - self.settings.backup_keep, 0)]
        for name in extra:
            self.target[0].delete(name)
        return extra
