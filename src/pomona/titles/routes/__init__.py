"""HTTP routes of the titles domain, by what they serve: titles (``titles``), their versions
(``versions``), a title's lifecycle (``lifecycle``), backups, restores and imports
(``backups``), namespaces (``namespaces``) and PatchServer's API (``patchserver``). The Jamf
feed is answered ahead of the routing, in ``pomona.titles.feed_http``."""

from __future__ import annotations

from fastapi import APIRouter

from pomona.titles.routes import backups, lifecycle, namespaces, titles, versions
from pomona.titles.routes.patchserver import install as install_patchserver

ROUTERS: tuple[APIRouter, ...] = (
    titles.api,
    versions.api,
    lifecycle.api,
    backups.backups,
    namespaces.api,
)

__all__ = ["ROUTERS", "install_patchserver"]
