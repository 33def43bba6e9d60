"""HTTP routes of the package store: records (:mod:`.catalog`), uploads, plain and tus
(:mod:`.uploads`), and downloads (:mod:`.downloads`)."""

from __future__ import annotations

from fastapi import FastAPI

from pomona.packages.routes import catalog, downloads, uploads
from pomona.packages.routes.schemas import PackagePatch

__all__ = ["PackagePatch", "install"]


def install(app: FastAPI) -> None:
    """Add the package store's routes to ``app``."""
    app.include_router(catalog.api)
    app.include_router(uploads.put_api)
    app.include_router(downloads.api)
    app.include_router(uploads.tus)
    app.include_router(downloads.public)
