"""HTTP routes of operations: ``/metrics``, ``/healthz`` and ``/readyz``. Parse, call, answer.

They sit outside ``/api/v1`` where load balancers, orchestrators and Prometheus look for them,
and take no API token: ``/healthz`` and ``/readyz`` say nothing a probe should not know, and
``/metrics`` has its own optional protection (``metrics_token``, ``metrics_allowed_networks``).
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import Request, Response
from pydantic import BaseModel, Field

from pomona.budget_http import api_router
from pomona.deps import SettingsDep
from pomona.errors import Forbidden, NotFound, Unauthenticated
from pomona.errors_http import error_responses
from pomona.ops.deps import Operations
from pomona.ops.metrics import CONTENT_TYPE
from pomona.settings import Settings


class AliveOut(BaseModel):
    status: str = Field(description="`alive`: the process answers")


class ReadyOut(BaseModel):
    status: str = Field(description="`ready`: every check passed")
    checks: dict[str, str] = Field(description="What each check found, by name")


router = api_router(tags=["operations"])


@router.get("/healthz", response_model=AliveOut)
async def healthz() -> AliveOut:
    """Alive: the process answers. It checks nothing else, so that a dependency's outage does
    not get every process restarted; use ``/readyz`` to take traffic away."""
    return AliveOut(status="alive")


@router.get("/readyz", response_model=ReadyOut, responses=error_responses(503))
async def readyz(ops: Operations) -> ReadyOut:
    """Ready: the database, the package storage and the job queue answer. 503 lists every
    check that failed, each with a code (`database_unavailable`, `storage_unavailable`,
    `queue_unavailable`)."""
    checks = await ops.ready()
    return ReadyOut(status="ready", checks={c.name: c.detail for c in checks})


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"description": "Prometheus text format", "content": {CONTENT_TYPE: {}}},
        **error_responses(401, 403, 404),
    },
)
async def metrics_text(request: Request, ops: Operations, settings: SettingsDep) -> Response:
    """Every process's counters added up, in the Prometheus text format. Needs
    ``Authorization: Bearer <metrics_token>`` when that setting is set, and a client in
    ``metrics_allowed_networks`` when that one is."""
    _allow(request, settings)
    return Response(await ops.exposition(), media_type=CONTENT_TYPE)


def _allow(request: Request, settings: Settings) -> None:
    if not settings.metrics_enabled:
        raise NotFound("metrics are turned off (metrics_enabled)", code="metrics_disabled")
    if settings.metrics_allowed_networks:
        host = request.client.host if request.client else ""
        if not _in_networks(host, settings.metrics_allowed_networks):
            raise Forbidden(
                f"{host or 'this client'} is not in metrics_allowed_networks",
                code="metrics_network_refused",
            )
    expected = settings.metrics_token.get_secret_value()
    if expected:
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), expected.encode()
        ):
            raise Unauthenticated(
                "send Authorization: Bearer <metrics_token>", "/authorization", "header"
            )


def _in_networks(host: str, networks: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    for network in networks:
        try:
            if address in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False
