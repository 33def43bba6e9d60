"""The package store, composed of its parts; knows no HTTP.

Life of a package's bytes:

1. They are appended to one partial file in the upload directory and hashed on the way in
   (:class:`~pomona.packages.uploads.UploadService`; a plain ``PUT`` writes one in a single
   request, a tus upload over as many requests as it takes, reaching any process).
2. When the last byte is in, the file is verified, stored by content and its filename pointed
   at it (:class:`~pomona.packages.publishing.Publisher`).
3. From then on the package is in the catalog (:class:`~pomona.packages.catalog.PackageCatalog`)
   and served; the cleanup and the scrub keep the store tidy and honest
   (:class:`~pomona.packages.maintenance.Maintenance`).

Each part is built with what it depends on, explicitly, here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pomona.db import Database
from pomona.packages.catalog import PackageCatalog
from pomona.packages.maintenance import Maintenance
from pomona.packages.publishing import Publisher
from pomona.packages.storage import Storage, build_storage
from pomona.packages.uploads import UploadService
from pomona.settings import Settings


@dataclass(frozen=True, slots=True)
class PackageService:
    """The parts of the package store, sharing one storage backend."""

    storage: Storage
    catalog: PackageCatalog
    publisher: Publisher
    uploads: UploadService
    maintenance: Maintenance

    @classmethod
    def build(
        cls,
        db: Database,
        settings: Settings,
        *,
        enqueue: Callable[[str], object] | None = None,
        on_change: Callable[[], object] | None = None,
    ) -> PackageService:
        """The store on ``db`` and the storage ``settings`` name; ``enqueue`` queues the task
        that stores a verified upload in remote storage; ``on_change`` is told after each
        committed change of a package (replication tells the peers)."""
        storage = build_storage(settings)
        catalog = PackageCatalog(db, on_change=on_change)
        publisher = Publisher(db, storage, settings, catalog, enqueue=enqueue)
        uploads = UploadService(db, settings, publisher)
        maintenance = Maintenance(db, storage, settings, uploads)
        return cls(storage, catalog, publisher, uploads, maintenance)
