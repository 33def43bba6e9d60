"""The dashboard: health, what needs attention, the latest audit entries."""

from __future__ import annotations

from fastapi import Request, Response

from pomona.auth.deps import Caller
from pomona.ui.deps import Ui
from pomona.ui.pages_http import PREFIX, render, ui_router

router = ui_router(prefix=PREFIX)


@router.get("/")
async def dashboard(request: Request, ui: Ui, caller: Caller) -> Response:
    return render(request, "dashboard.html", caller=caller, board=await ui.dashboard(caller))
