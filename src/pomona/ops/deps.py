"""Typed FastAPI dependencies of the operations domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from pomona.deps import ServicesDep
from pomona.ops.service import OperationsService


def operations_service(found: ServicesDep) -> OperationsService:
    return found.ops


Operations = Annotated[OperationsService, Depends(operations_service)]
