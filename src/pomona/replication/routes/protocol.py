"""The protocol peers speak to each other, every request signed with the pair's key
(RFC 9421; :mod:`pomona.replication.signing`). No bearer token opens these routes: an unsigned,
wrongly signed, stale or replayed request is answered 401, and the refusal is logged with its
reason. Thin: read the body, authenticate, call, answer."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Path, Request, Response

from pomona.audit.service import Who
from pomona.budget_http import api_router
from pomona.deps import ServicesDep
from pomona.errors import Invalid
from pomona.errors_http import error_responses
from pomona.packages.routes.downloads import serve
from pomona.packages.routes.schemas import responses
from pomona.replication.deps import Replication
from pomona.replication.models import Peer

Sha256 = Annotated[str, Path(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")]

api = api_router(prefix="/api/v1/replication/peer", tags=["replication protocol"])
# Signed requests, not bearer tokens: the scheme app.py declares as peerSignature.
SIGNED: dict[str, Any] = {"security": [{"peerSignature": []}]}


async def _peer(request: Request, replication: Replication) -> tuple[Peer, bytes]:
    body = await request.body()
    url = str(request.url)
    client = request.client.host if request.client else None
    headers = {k.lower(): v for k, v in request.headers.items()}
    peer = await replication.peers.authenticate(request.method, url, headers, body, client)
    return peer, body


def _json(body: bytes) -> dict[str, Any]:
    try:
        found = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError:
        found = None
    if not isinstance(found, dict):
        raise Invalid("send a JSON object", code="body_invalid")
    return found


@api.post("/pair", responses=error_responses(400, 401, 410, 413, 422), openapi_extra=SIGNED)
async def pair(request: Request, replication: Replication) -> dict[str, Any]:
    """The joining site completes a pairing, signed with the key derived from the invitation.
    Answers this site's id for the joining site, its name and stages."""
    body = await request.body()
    client = request.client.host if request.client else None
    headers = {k.lower(): v for k, v in request.headers.items()}
    return await replication.peers.accept(request.method, str(request.url), headers, body, client)


@api.post("/notify", responses=error_responses(401, 413, 422), openapi_extra=SIGNED)
async def notify(request: Request, found: ServicesDep) -> dict[str, Any]:
    """The peer's change log moved: read it soon. Signed by a paired peer."""
    peer, _ = await _peer(request, found.replication)
    found.tasks.replication.pull(peer.peer_id)
    return {"queued": True}


@api.post("/changes", responses=error_responses(401, 413, 422), openapi_extra=SIGNED)
async def changes(request: Request, replication: Replication) -> dict[str, Any]:
    """This site's changes after the cursor `after` that the calling peer should see, for the
    stages it says it accepts. Signed by a paired peer."""
    peer, body = await _peer(request, replication)
    asked = _json(body)
    after, stages = asked.get("after", 0), asked.get("stages", [])
    if not isinstance(after, int) or not isinstance(stages, list):
        raise Invalid("after is a number and stages a list", code="body_invalid")
    await replication.peers.set_stages(peer, [str(s) for s in stages])
    return await replication.changes.changes(peer, after)


@api.get("/blobs/{sha256}/manifest", responses=error_responses(401, 404, 422), openapi_extra=SIGNED)
async def manifest(request: Request, replication: Replication, sha256: Sha256) -> dict[str, Any]:
    """The SHA-256 of every chunk of a content the calling peer may read. Signed by a paired
    peer."""
    peer, _ = await _peer(request, replication)
    return await replication.changes.manifest(peer, sha256)


@api.get("/blobs/{sha256}", responses=responses(401, 404, 416, 422), openapi_extra=SIGNED)
async def blob(request: Request, found: ServicesDep, sha256: Sha256) -> Response:
    """The bytes of a content the calling peer may read, with Range. Signed by a paired peer."""
    peer, _ = await _peer(request, found.replication)
    located = await found.replication.changes.locate(peer, sha256)
    return serve(request, found.packages.storage, located, redirect=False, presign_seconds=0)


@api.post("/report", responses=error_responses(401, 413, 422), openapi_extra=SIGNED)
async def report(request: Request, replication: Replication) -> dict[str, Any]:
    """How far the calling peer got with a package it was offered. Signed by a paired peer."""
    peer, body = await _peer(request, replication)
    await replication.changes.report(peer, _json(body))
    return {"recorded": True}


@api.post("/unpair", responses=error_responses(401, 413, 422), openapi_extra=SIGNED)
async def unpair(request: Request, replication: Replication) -> dict[str, Any]:
    """The calling peer ended the pairing. Signed by a paired peer."""
    peer, _ = await _peer(request, replication)
    await replication.peers.unpair(peer.peer_id, Who(f"peer:{peer.name}"), by_peer=True)
    return {"state": "unpaired"}


@api.post("/rotate", responses=error_responses(401, 413, 422), openapi_extra=SIGNED)
async def rotate(request: Request, replication: Replication) -> dict[str, Any]:
    """The calling peer replaces the pair's key with one derived from it and `salt`. Signed by
    a paired peer."""
    peer, body = await _peer(request, replication)
    salt = _json(body).get("salt")
    if not isinstance(salt, str) or not 16 <= len(salt) <= 64:
        raise Invalid("salt is a string of 16 to 64 characters", code="body_invalid")
    await replication.peers.rotate(peer.peer_id, salt, Who(f"peer:{peer.name}"))
    return {"rotated": True}
