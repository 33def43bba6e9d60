"""The typed FastAPI dependencies every domain's ``deps.py`` builds on."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from pomona.container import Services
from pomona.settings import Settings


def services(request: Request) -> Services:
    """The services the application's lifespan built."""
    built = request.app.state.services
    assert isinstance(built, Services), "the application's lifespan has not run"
    return built


ServicesDep = Annotated[Services, Depends(services)]


def settings(request: Request) -> Settings:
    found = request.app.state.settings
    assert isinstance(found, Settings)
    return found


SettingsDep = Annotated[Settings, Depends(settings)]
