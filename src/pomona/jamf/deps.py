"""Typed FastAPI dependencies of the Jamf Pro companion."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from pomona.auth.deps import require
from pomona.auth.scopes import Principal
from pomona.deps import ServicesDep
from pomona.jamf.service import JamfService


def jamf_service(found: ServicesDep) -> JamfService:
    return found.jamf


Jamf = Annotated[JamfService, Depends(jamf_service)]
# Connections hold credentials to another system: every route of the domain is for admins.
Admin = Annotated[Principal, Depends(require("admin"))]
