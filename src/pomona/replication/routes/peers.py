"""HTTP routes of peers and replication status, for admins. Thin: parse, call, answer; what
talks to another site is queued as a job."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from pomona.audit.deps import who
from pomona.audit.service import Who
from pomona.auth.deps import require
from pomona.auth.scopes import Principal
from pomona.budget_http import api_router
from pomona.container import Services
from pomona.deps import ServicesDep
from pomona.errors_http import error_responses
from pomona.http import read_json
from pomona.queue.models import Job
from pomona.queue.routes import ACCEPTED, JobOut, accepted, enqueue
from pomona.replication.deps import Replication
from pomona.replication.routes.schemas import (
    InvitationIn,
    InvitationOut,
    JoinIn,
    PeerListOut,
    PeerOut,
    PeerPatch,
    PeerQueueOut,
    QueuedOut,
    ReplicationOut,
    TransferOut,
)
from pomona.replication.service import ReplicationService
from pomona.replication.tasks import JOIN, ROTATE
from pomona.replication.values import PeerInfo

Admin = Annotated[Principal, Depends(require("admin"))]
PeerId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[0-9a-f]+$")]

api = api_router(prefix="/api/v1/peers", tags=["replication"])
status = api_router(prefix="/api/v1/replication", tags=["replication"])


async def start_join(found: Services, caller: Principal, by: Who, invitation: str) -> Job:
    """Check the pairing code at once, then queue the join as a job."""
    found.replication.peers.read_code(invitation)
    job = await found.jobs.create(JOIN, caller, by, {"invitation": invitation})
    await enqueue(found.jobs, job, found.tasks.replication.join)
    return job


async def start_rotation(found: Services, caller: Principal, by: Who, peer_id: str) -> Job:
    await found.replication.peers.row(peer_id)
    job = await found.jobs.create(ROTATE, caller, by, {"peerId": peer_id})
    await enqueue(found.jobs, job, found.tasks.replication.rotate)
    return job


async def end_pairing(found: Services, peer_id: str, by: Who) -> PeerInfo:
    """Unpair at once (the peer is told by a queued task); forget a peer already unpaired."""
    replication = found.replication
    current = await replication.peers.row(peer_id)
    if current.state != "paired":
        await replication.peers.remove(peer_id, by)
        return PeerInfo.of(current)
    found.tasks.replication.unpair(peer_id)
    return PeerInfo.of(await replication.peers.unpair(peer_id, by))


def _body(model: Any, raw: Any) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        ) from None


@api.post(
    "/invitations",
    response_model=InvitationOut,
    status_code=201,
    responses=error_responses(400, 401, 403, 409, 413, 422),
)
async def invite(request: Request, replication: Replication, caller: Admin) -> InvitationOut:
    """A one-time pairing code carrying this site's URL and a secret; it expires (one hour by
    default). Give it to the other site's admin: `pomona peers join CODE` there."""
    raw = await request.body()
    asked = _body(InvitationIn, await read_json(request)) if raw.strip() else InvitationIn()
    invited = await replication.peers.invite(who(request, caller), asked.hours)
    return InvitationOut(
        code=invited.code, expiresAt=invited.expires_at, url=replication.peers.site_url
    )


@api.api_route(
    "/invitations",
    methods=["GET", "HEAD", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
async def invitations_only_made() -> Response:
    """Invitations are only made: without this, ``/{peer_id}`` would take these methods and
    answer for a peer named ``invitations``."""
    raise StarletteHTTPException(405, headers={"Allow": "POST"})


@api.post(
    "",
    response_model=JobOut,
    status_code=202,
    responses={**ACCEPTED, **error_responses(400, 401, 403, 413, 422, 503)},
)
async def join(
    request: Request, response: Response, found: ServicesDep, caller: Admin, body: JoinIn
) -> JobOut:
    """Join the site that made the invitation: checked at once, completed as a job (the other
    site is asked, then both record the pairing with a key of its own)."""
    job = await start_join(found, caller, who(request, caller), body.invitation)
    return accepted(job, response)


@api.get("", response_model=PeerListOut, responses=error_responses(401, 403, 422))
async def list_peers(replication: Replication, _caller: Admin) -> PeerListOut:
    """Every peer, with its state on this side and on its own as last heard."""
    return PeerListOut(items=[PeerOut.of(p) for p in await replication.peers.all()])


@api.get("/{peer_id}", response_model=PeerOut, responses=error_responses(401, 403, 404, 422))
async def get_peer(replication: Replication, peer_id: PeerId, _caller: Admin) -> PeerOut:
    """One peer."""
    return PeerOut.of(PeerInfo.of(await replication.peers.row(peer_id)))


@api.patch(
    "/{peer_id}", response_model=PeerOut, responses=error_responses(400, 401, 403, 404, 413, 422)
)
async def patch_peer(
    request: Request, replication: Replication, peer_id: PeerId, caller: Admin, patch: PeerPatch
) -> PeerOut:
    """Set the peer's bandwidth limit, transfer window, or whether it is notified."""
    return PeerOut.of(await replication.peers.edit(peer_id, patch.edit(), who(request, caller)))


@api.delete("/{peer_id}", response_model=PeerOut, responses=error_responses(401, 403, 404, 422))
async def unpair(request: Request, found: ServicesDep, peer_id: PeerId, caller: Admin) -> PeerOut:
    """End the pairing on this side at once; the peer is told by a queued task. A peer
    already unpaired is forgotten."""
    return PeerOut.of(await end_pairing(found, peer_id, who(request, caller)))


@api.post(
    "/{peer_id}/rotate",
    response_model=JobOut,
    status_code=202,
    responses={**ACCEPTED, **error_responses(401, 403, 404, 422, 503)},
)
async def rotate(
    request: Request, response: Response, found: ServicesDep, peer_id: PeerId, caller: Admin
) -> JobOut:
    """Replace the pair's key, agreed with the peer, as a job."""
    return accepted(await start_rotation(found, caller, who(request, caller), peer_id), response)


@api.post(
    "/{peer_id}/sync",
    response_model=QueuedOut,
    status_code=202,
    responses=error_responses(401, 403, 404, 422),
)
async def sync(found: ServicesDep, peer_id: PeerId, _caller: Admin) -> QueuedOut:
    """Read the peer's change log now rather than at the next notification or poll."""
    await found.replication.peers.row(peer_id)
    found.tasks.replication.pull(peer_id)
    return QueuedOut(queued=True)


@status.get("", response_model=ReplicationOut, responses=error_responses(401, 403, 422))
async def overview(replication: Replication, _caller: Admin) -> ReplicationOut:
    """This site's replication: per peer, transfers under way, packages it has not finished,
    and the lag."""
    return await replication_status(replication)


async def replication_status(replication: ReplicationService) -> ReplicationOut:
    """What ``GET /api/v1/replication`` answers; the web UI's peers page shows the same."""
    found = await replication.overview()
    settings = replication.settings
    return ReplicationOut(
        site=replication.peers.site_name,
        url=settings.replication_site_url or settings.public_url,
        stages=settings.replication_stages,
        firewalled=settings.replication_firewalled,
        changeLogHead=found["changeLogHead"],
        peers=[
            PeerQueueOut(
                peer=PeerOut.of(p["peer"]),
                incoming=[TransferOut.of(t) for t in p["incoming"]],
                outgoing=[TransferOut.of(o) for o in p["outgoing"]],
                lagSeconds=p["lagSeconds"],
                cursor=p["cursor"],
            )
            for p in found["peers"]
        ],
    )
