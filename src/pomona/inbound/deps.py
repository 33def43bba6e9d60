"""Typed FastAPI dependencies of the inbound domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from pomona.deps import ServicesDep
from pomona.inbound.service import InboundService


def inbound_service(found: ServicesDep) -> InboundService:
    return found.inbound


Inbound = Annotated[InboundService, Depends(inbound_service)]
