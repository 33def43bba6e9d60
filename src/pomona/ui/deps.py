"""Typed FastAPI dependencies of the web UI."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from pomona.deps import ServicesDep
from pomona.ui.service import UiService


def ui_service(found: ServicesDep) -> UiService:
    return UiService(found)


Ui = Annotated[UiService, Depends(ui_service)]
