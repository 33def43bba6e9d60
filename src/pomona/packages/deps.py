"""Typed FastAPI dependencies of the package store: its parts, its callers, and who may
download from the distribution point."""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Mapping
from typing import Annotated, ClassVar

from fastapi import Depends, Request

from pomona.auth.deps import require
from pomona.auth.scopes import Principal
from pomona.deps import ServicesDep, SettingsDep
from pomona.errors import Unauthenticated
from pomona.errors_http import WithHeaders
from pomona.packages.catalog import PackageCatalog
from pomona.packages.storage import Storage
from pomona.packages.uploads import UploadService


def catalog(found: ServicesDep) -> PackageCatalog:
    return found.packages.catalog


def uploads(found: ServicesDep) -> UploadService:
    return found.packages.uploads


def storage(found: ServicesDep) -> Storage:
    return found.packages.storage


Catalog = Annotated[PackageCatalog, Depends(catalog)]
Uploads = Annotated[UploadService, Depends(uploads)]
Store = Annotated[Storage, Depends(storage)]
Reader = Annotated[Principal, Depends(require("packages:read"))]
Writer = Annotated[Principal, Depends(require("packages:write"))]


class BasicChallenge(WithHeaders, Unauthenticated):
    """No or wrong distribution point credentials: answered with a challenge for HTTP basic
    auth (Jamf Pro's distribution points log in that way), not for a bearer token."""

    headers: ClassVar[Mapping[str, str]] = {"WWW-Authenticate": 'Basic realm="Pomona packages"'}


async def download_access(request: Request, settings: SettingsDep) -> Principal | None:
    """What ``package_download_auth`` asks of ``/Packages`` requests: nothing, a token with
    ``packages:read``, or the distribution point's username and password."""
    if settings.package_download_auth == "token":
        return await require("packages:read")(request)
    if settings.package_download_auth == "basic":
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            user = password = ""
        expected = settings.package_download_password.get_secret_value()
        good = (
            scheme.lower() == "basic"
            and bool(expected)
            and secrets.compare_digest(user.encode(), settings.package_download_username.encode())
            and secrets.compare_digest(password.encode(), expected.encode())
        )
        if not good:
            raise BasicChallenge(
                "send the distribution point's username and password (HTTP basic auth)",
                "/authorization",
                "header",
                code="download_credentials",
            )
    return None


DownloadAccess = Annotated[Principal | None, Depends(download_access)]
