"""Peers: this site's replication (its peers, their state on both sides, queues and lag), and
what an admin does with them: invite (the code is shown once), join with a code, set a peer's
bandwidth, window and notifications, rotate its key, unpair. The API's services, body models
and permission (``admin``) throughout; what talks to a peer is a job the page follows."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request, Response

from pomona.audit.deps import who
from pomona.deps import ServicesDep
from pomona.errors import Invalid
from pomona.replication.routes.peers import (
    Admin,
    PeerId,
    end_pairing,
    replication_status,
    start_join,
    start_rotation,
)
from pomona.replication.routes.schemas import InvitationIn, JoinIn, PeerPatch
from pomona.replication.values import Invited
from pomona.ui.pages_http import PREFIX, parse, redirect, ui_router
from pomona.ui.routes.job_status import Followed, Shown, refusal, show

router = ui_router(prefix=f"{PREFIX}/peers")
HERE = f"{PREFIX}/peers"


async def peers_page(
    request: Request,
    found: ServicesDep,
    caller: Admin,
    shown: Shown = Shown(),
    invited: Invited | None = None,
) -> Response:
    """The page: the status ``GET /api/v1/replication`` answers, and the job it follows."""
    site = await replication_status(found.replication)
    return await show(request, found, caller, "peers/list.html", shown, site=site, invited=invited)


@router.get("")
async def peers(
    request: Request, found: ServicesDep, caller: Admin, job: Followed = None
) -> Response:
    return await peers_page(request, found, caller, Shown(job=job))


@router.post("/invitations")
async def invite(
    request: Request,
    found: ServicesDep,
    caller: Admin,
    hours: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """A one-time pairing code, shown once with its expiry."""
    asked = parse(InvitationIn, {"hours": hours or None})
    invited = await found.replication.peers.invite(who(request, caller), asked.hours)
    return await peers_page(request, found, caller, Shown(201), invited)


@router.post("/join")
async def join(
    request: Request,
    found: ServicesDep,
    caller: Admin,
    invitation: Annotated[str, Form(max_length=8000)] = "",
) -> Response:
    """Join the site that made the code: checked at once, completed as a job."""
    try:
        body = parse(JoinIn, {"invitation": invitation.strip()})
        job = await start_join(found, caller, who(request, caller), body.invitation)
    except Invalid as exc:
        return await peers_page(request, found, caller, refusal(exc, {"invitation": invitation}))
    return redirect(request, f"{HERE}?job={job.job_id}")


@router.post("/{peer_id}")
async def edit_peer(
    request: Request,
    found: ServicesDep,
    caller: Admin,
    peer_id: PeerId,
    rateLimit: Annotated[str, Form(max_length=32)] = "",
    window: Annotated[str, Form(max_length=64)] = "",
    notify: Annotated[bool, Form()] = False,
) -> Response:
    """Bandwidth (bytes per second, 0: none), window (HH:MM-HH:MM UTC, empty: none), notify."""
    form = {"rateLimit": rateLimit, "window": window, "notify": notify}
    try:
        patch = parse(PeerPatch, {**form, "rateLimit": rateLimit or 0, "window": window.strip()})
        await found.replication.peers.edit(peer_id, patch.edit(), who(request, caller))
    except Invalid as exc:
        return await peers_page(request, found, caller, refusal(exc, form, f"/peers/{peer_id}"))
    return redirect(request, HERE)


@router.post("/{peer_id}/rotate")
async def rotate(request: Request, found: ServicesDep, caller: Admin, peer_id: PeerId) -> Response:
    job = await start_rotation(found, caller, who(request, caller), peer_id)
    return redirect(request, f"{HERE}?job={job.job_id}")


@router.post("/{peer_id}/unpair")
async def unpair(request: Request, found: ServicesDep, caller: Admin, peer_id: PeerId) -> Response:
    """Unpair (the peer is told); a peer already unpaired is forgotten."""
    await end_pairing(found, peer_id, who(request, caller))
    return redirect(request, HERE)
