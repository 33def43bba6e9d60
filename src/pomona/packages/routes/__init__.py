"""HTTP routes of the package store: records (:mod:`.catalog`), uploads, plain and tus
(:mod:`.uploads`), and downloads (:mod:`.downloads`)."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response

from pomona.errors import DomainError
from pomona.errors_http import error_response
from pomona.packages.deps import BasicChallenge
from pomona.packages.routes import catalog, downloads, uploads
from pomona.packages.routes.schemas import PackagePatch
from pomona.packages.routes.uploads import TusVersionMissing

__all__ = ["PackagePatch", "install"]


async def _with_headers(_request: Request, exc: Exception) -> Response:
    """Refusals whose answer must say more in headers: how to log in, which tus to speak."""
    assert isinstance(exc, BasicChallenge | TusVersionMissing)
    return error_response(exc, dict(exc.headers))


def install(app: FastAPI) -> None:
    """Add the package store's routes to ``app``."""
    app.include_router(catalog.api)
    app.include_router(uploads.put_api)
    app.include_router(downloads.api)
    app.include_router(uploads.tus)
    app.include_router(downloads.public)
    error: type[DomainError]
    for error in (BasicChallenge, TusVersionMissing):
        app.add_exception_handler(error, _with_headers)
