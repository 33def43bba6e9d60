"""Applying a peer's changes, in process on every engine: a tombstone removes only the content
it names; the change log tells a peer only of what it may have."""

from __future__ import annotations

import hashlib

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from pomona.events.models import Event
from pomona.replication.models import Peer
from tests.conftest import make_token
from tests.replication.test_signing import _peer


async def _uploaded(
    app: FastAPI, client: httpx.AsyncClient, name: str, content: bytes
) -> dict[str, str]:
    """An admin's headers, once it has uploaded ``content`` as ``name``."""
    admin = await make_token(app, "admin", "admin")
    put = await client.put(f"/api/v1/packages/{name}", content=content, headers=admin)
    assert put.status_code == 201, put.text
    return admin


async def test_a_tombstone_removes_only_the_content_it_names(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await _uploaded(app, client, "Same.pkg", b"ours")
    peer = await _peer(app)
    receiver = app.state.services.replication.receiver
    other = hashlib.sha256(b"theirs").hexdigest()
    await receiver._apply(peer, {"kind": "delete", "filename": "Same.pkg", "sha256": other})
    assert (await client.get("/api/v1/packages/Same.pkg", headers=admin)).status_code == 200
    ours = hashlib.sha256(b"ours").hexdigest()
    await receiver._apply(peer, {"kind": "delete", "filename": "Same.pkg", "sha256": ours})
    assert (await client.get("/api/v1/packages/Same.pkg", headers=admin)).status_code == 404
    audit = await client.get("/api/v1/audit", params={"action": "package.delete"}, headers=admin)
    assert [e["actor"] for e in audit.json()["items"]] == ["peer:branch"]
    async with app.state.services.db.sessions() as session:
        kinds = list(await session.scalars(select(Event.type)))
    assert "replication.removed" in kinds


async def test_the_change_log_names_only_what_the_peer_accepts(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await make_token(app, "admin", "admin")
    for name, tag in (("Dev.pkg", "dev"), ("Prod.pkg", "prod")):
        put = await client.put(f"/api/v1/packages/{name}", content=name.encode(), headers=admin)
        assert put.status_code == 201, put.text
        edit = await client.patch(f"/api/v1/packages/{name}", json={"tags": [tag]}, headers=admin)
        assert edit.status_code == 200, edit.text
    peer = await _peer(app)
    async with app.state.services.db.transaction() as session:
        row = (await session.scalars(select(Peer))).one()
        row.stages = '["prod"]'
    peer.stages = '["prod"]'
    changes = app.state.services.replication.changes
    found = await changes.changes(peer, 0)
    assert [(c["kind"], c["filename"]) for c in found["changes"]] == [("put", "Prod.pkg")]
    # Demoted: the peer was offered it, so it is told to remove that content.
    edit = await client.patch("/api/v1/packages/Prod.pkg", json={"tags": ["dev"]}, headers=admin)
    assert edit.status_code == 200
    later = await changes.changes(peer, found["next"])
    prod_sha = hashlib.sha256(b"Prod.pkg").hexdigest()
    assert later["changes"] == [
        {"seq": later["next"], "kind": "delete", "filename": "Prod.pkg", "sha256": prod_sha}
    ]
    # The dev package's own changes never name it to this peer.
    edit = await client.patch("/api/v1/packages/Dev.pkg", json={"notes": "x"}, headers=admin)
    assert (await changes.changes(peer, later["next"]))["changes"] == []


async def test_a_sites_own_state_coming_back_from_a_peer_does_not_undo_a_change(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The peer copied App.pkg untagged; meanwhile this site tagged it. The peer's copy, newer
    by the clock, comes back marked as an echo: the content is known, the tags are not taken.
    The same entry from a peer that changed the tags itself is taken."""
    admin = await _uploaded(app, client, "App.pkg", b"app")
    edit = await client.patch("/api/v1/packages/App.pkg", json={"tags": ["prod"]}, headers=admin)
    assert edit.status_code == 200, edit.text
    peer = await _peer(app)
    receiver = app.state.services.replication.receiver
    entry = {
        "kind": "put",
        "filename": "App.pkg",
        "sha256": hashlib.sha256(b"app").hexdigest(),
        "size": 3,
        "tags": [],
        "updatedAt": "2099-01-01T00:00:00Z",
        "echo": True,
    }
    await receiver._apply(peer, entry)
    tags = (await client.get("/api/v1/packages/App.pkg", headers=admin)).json()["tags"]
    assert tags == ["prod"]
    await receiver._apply(peer, {**entry, "echo": False})
    found = (await client.get("/api/v1/packages/App.pkg", headers=admin)).json()
    assert found["tags"] == []
    # The record keeps the peer's time, so that any later change anywhere wins over it.
    assert found["updatedAt"].startswith("2099-01-01")


async def test_the_change_log_marks_a_peers_own_state_and_keeps_its_removals_from_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await _uploaded(app, client, "App.pkg", b"app")
    peer = await _peer(app)
    changes = app.state.services.replication.changes
    first = await changes.changes(peer, 0)  # offered to the peer
    assert [c["echo"] for c in first["changes"]] == [False]
    receiver = app.state.services.replication.receiver
    sha = hashlib.sha256(b"app").hexdigest()
    same = {"kind": "put", "filename": "App.pkg", "sha256": sha, "size": 3, "tags": ["prod"]}
    await receiver._apply(peer, same)  # the peer's tags, taken: the change is the peer's
    echoed = await changes.changes(peer, first["next"])
    assert [(c["tags"], c["echo"]) for c in echoed["changes"]] == [(["prod"], True)]
    # Removed on the peer's word: not sent back to it as a delete of its own package.
    await receiver._apply(peer, {"kind": "delete", "filename": "App.pkg", "sha256": sha})
    assert (await client.get("/api/v1/packages/App.pkg", headers=admin)).status_code == 404
    assert (await changes.changes(peer, echoed["next"]))["changes"] == []
