"""What every page of the web UI shares: the templates, the answer's security headers, the route
class that turns a missing session into the sign-in page and a domain error into a message, and
the router every ``ui/routes`` module makes.

Pages take the same dependencies as the API (``Caller``, ``require(scope)``, the domains'
``Reader``/``Writer``): a session cookie authenticates them, and every unsafe request carries the
session's CSRF token in ``X-CSRF-Token`` (htmx sends it from the ``hx-headers`` of ``<body>``),
checked by ``auth/deps.principal`` exactly as for the API.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, ValidationError

from pomona import __version__
from pomona.auth.deps import PRINCIPAL, SESSION_CSRF
from pomona.auth.scopes import Principal
from pomona.budget_http import BudgetedRoute
from pomona.errors import DomainError, Invalid, Problem, Unauthenticated
from pomona.errors_http import status_of
from pomona.ui.fields import problems_by_field

M = TypeVar("M", bound=BaseModel)
HERE = Path(__file__).parent
PREFIX = "/ui"
STATIC = f"{PREFIX}/static"
# Nothing inline, nothing from elsewhere: scripts and styles are the files under static/.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# htmx: no eval, no inline scripts or indicator styles (the CSP refuses them anyway), and error
# answers are swapped in, so a refusal's message shows where the user acted.
HTMX_CONFIG = json.dumps(
    {
        "includeIndicatorStyles": False,
        "allowEval": False,
        "allowScriptTags": False,
        "selfRequestsOnly": True,
        "historyCacheSize": 0,
        "responseHandling": [
            {"code": "204", "swap": False},
            {"code": "[23]..", "swap": True},
            {"code": "[45]..", "swap": True, "error": True},
        ],
    }
)

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)
templates.globals.update(version=__version__, static=STATIC, htmx_config=HTMX_CONFIG)


def htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(
    request: Request,
    template: str,
    status: int = 200,
    caller: Principal | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page, or the fragment of one an htmx request asked for, with the UI's headers."""
    csrf = request.scope.get(SESSION_CSRF)
    if caller is None:  # a refusal's page still shows who is signed in, if anyone
        known = request.scope.get(PRINCIPAL)
        caller = known if isinstance(known, Principal) else None
    text = templates.get_template(template).render(
        request=request,
        me=caller,
        csrf=csrf if isinstance(csrf, str) else "",
        may=caller.allows if caller is not None else (lambda _scope: False),
        path=request.url.path,
        # When the page was made: its live regions catch up on the events since (ui.js).
        rendered=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **context,
    )
    return HTMLResponse(text, status_code=status, headers={**HEADERS, **(headers or {})})


def redirect(request: Request, to: str) -> Response:
    """Go to ``to``: a plain redirect, or for htmx a full navigation it performs."""
    if htmx(request):
        return Response(status_code=204, headers={**HEADERS, "HX-Redirect": to})
    return RedirectResponse(to, status_code=303, headers=HEADERS)


def problems_answer(
    request: Request, problems: list[Problem], status: int, caller: Principal | None = None
) -> Response:
    """A refusal the user reads: in the page's message area for htmx, else as a page."""
    if htmx(request):
        return render(
            request,
            "parts/problems.html",
            status,
            caller,
            # Into the message area, whatever part of the page the action meant to replace.
            headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML", "HX-Reselect": "unset"},
            problems=problems,
        )
    return render(request, "problem.html", status, caller, problems=problems)


class UiRoute(BudgetedRoute):
    """A page or an action: the API's budget and authentication, then the UI's answers to
    what goes wrong (the sign-in page for no session, the problems in words otherwise)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handle(request)
            except Unauthenticated:
                back = request.headers.get("hx-current-url") if htmx(request) else None
                target = back or str(request.url.path)
                return redirect(request, f"{PREFIX}/signin?next={quote(_local(target))}")
            except DomainError as exc:
                return problems_answer(request, exc.problems, status_of(exc))
            except RequestValidationError as exc:
                problems = [
                    Problem("/" + "/".join(str(p) for p in e["loc"][1:]), e["msg"])
                    for e in exc.errors()
                ]
                return problems_answer(request, problems, 422)

        return page


def _local(target: str) -> str:
    """Only a path of this server: never send a signed-in user elsewhere."""
    path = "/" + target.split("://", 1)[-1].split("/", 1)[-1] if "://" in target else target
    return path if path.startswith(PREFIX) and not path.startswith("//") else PREFIX + "/"


def safe_next(target: str | None) -> str:
    return _local(target or PREFIX + "/")


def ui_router(**options: Any) -> APIRouter:
    """The router of a ``ui/routes`` module: kept out of the OpenAPI document (it answers
    HTML), and under the request budget like every route of the app."""
    return APIRouter(route_class=UiRoute, include_in_schema=False, **options)


def field_errors(problems: list[Problem]) -> dict[str, list[str]]:
    return problems_by_field(problems)


def parse(model: type[M], data: dict[str, Any]) -> M:
    """The API's body model checks a form's values: the same limits, the same problems."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem("/" + "/".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()
        ]
        raise Invalid(problems, code="invalid") from None
