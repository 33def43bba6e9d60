"""The rules of the house that a script can check (docs/architecture.md), over src/pomona."""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from pomona.app import create_app
from pomona.budget_http import BudgetedRoute
from pomona.settings import Settings

SRC = Path(__file__).resolve().parents[1] / "src" / "pomona"
MODULES = sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts)
HTTP_IMPORT = re.compile(r"^\s*(from|import)\s+(fastapi|starlette)\b", re.M)
# An HTTP status handed to an exception, or an API route named in a string.
STATUS = re.compile(r"\b\w+(Error|Exception)\s*\(\s*[1-5]\d\d\b|status_code\s*=\s*\d{3}")
API_PATH = re.compile(r"[\"'][^\"']*\b(GET|POST|PUT|PATCH|DELETE)\s+/api/v1")
# Modules that speak HTTP: they may import the web framework and name statuses and paths.
HTTP_NAMES = {"routes.py", "deps.py", "http.py", "errors_http.py", "app.py", "servers.py"}


def speaks_http(path: Path) -> bool:
    relative = path.relative_to(SRC)
    return (
        path.name in HTTP_NAMES
        or path.name.endswith("_http.py")
        or "routes" in relative.parts[:-1]
        or relative.parts[0] in ("cli", "ui")
    )


def name(path: Path) -> str:
    return str(path.relative_to(SRC))


def test_no_module_is_over_20_kb_and_the_median_is_under_6_kb() -> None:
    sizes = {name(p): p.stat().st_size for p in MODULES if p.stat().st_size}
    assert {n: s for n, s in sizes.items() if s > 20_000} == {}
    assert statistics.median(sizes.values()) < 6_000


@pytest.mark.parametrize("path", [p for p in MODULES if not speaks_http(p)], ids=name)
def test_a_module_that_is_not_a_route_module_knows_no_http(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not HTTP_IMPORT.search(text), "imports fastapi or starlette"
    assert not STATUS.search(text), "names an HTTP status"
    assert not API_PATH.search(text), "names an API route in a message"


@pytest.mark.parametrize(
    "path", [p for p in MODULES if speaks_http(p) and p.name not in HTTP_NAMES - {"routes.py"}]
)
def test_routes_reach_services_through_typed_dependencies(path: Path) -> None:
    assert "request.app.state" not in path.read_text(encoding="utf-8")


def test_every_domain_has_a_service() -> None:
    domains = [
        d
        for d in SRC.iterdir()
        if (d / "__init__.py").exists() and d.name not in ("cli", "migrations")
    ]
    assert domains
    missing = [
        d.name for d in domains if not ({"service.py", "services"} & {p.name for p in d.iterdir()})
    ]
    assert missing == []


def api_routes(app: FastAPI) -> Iterator[APIRoute]:
    """Every API route of the app, through the routers it includes."""
    pending: list[Any] = list(app.router.routes)
    while pending:
        route = pending.pop()
        if hasattr(route, "original_router"):
            pending.extend(route.original_router.routes)
        elif isinstance(route, APIRoute):
            yield route


def test_every_route_keeps_the_request_budget() -> None:
    app = create_app(Settings(data_dir=Path("unused")))
    routes = list(api_routes(app))
    assert len(routes) > 30
    outside = sorted(
        f"{r.path} {sorted(r.methods)}" for r in routes if not isinstance(r, BudgetedRoute)
    )
    assert not outside, (
        "make these routers with pomona.budget_http.api_router(...), so that they authenticate "
        "before reading a body and bound it (see docs/architecture.md)"
    )
