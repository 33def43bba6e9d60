"""The signed peer protocol, in process on every engine: a request signed with the pair's key
passes once; replayed, altered, stale, unknown or unpaired ones are refused and logged; the
pairing takes an invitation once, before it expires, with its secret."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import orjson
import pytest
from fastapi import FastAPI

from pomona.app import create_app
from pomona.db import utcnow
from pomona.replication.invitations import read_code
from pomona.replication.models import Peer
from pomona.replication.signing import sign
from pomona.settings import Settings
from tests.conftest import make_token

BASE = "http://pomona.test"
KEY = "ab" * 32
CHANGES = "/api/v1/replication/peer/changes"


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    site = settings.model_copy(update={"replication_site_url": BASE, "replication_site_name": "hq"})
    application = create_app(site)
    async with application.router.lifespan_context(application):
        yield application


async def _peer(app: FastAPI, *, state: str = "paired") -> Peer:
    now = utcnow()
    peer = Peer(
        peer_id="feed" * 8,
        remote_id="beef" * 8,
        name="branch",
        url="http://branch.test",
        key=KEY,
        key_rotated_at=now,
        state=state,
        remote_state="paired",
        stages="[]",
        notify=False,
        rate_limit=0,
        cursor=0,
        created_at=now,
        reachable=True,
    )
    async with app.state.services.db.transaction() as session:
        session.add(peer)
    return peer


def _signed(path: str, body: bytes, key: str = KEY, **options: object) -> dict[str, str]:
    headers = sign("POST", BASE + path, body, "feed" * 8, bytes.fromhex(key), **options)  # type: ignore[arg-type]
    return {**headers, "Content-Type": "application/json"}


def _refusal(answer: httpx.Response) -> str:
    assert answer.status_code == 401, answer.text
    error = answer.json()["errors"][0]
    assert error["code"] == "peer_refused"
    return str(error["message"])


async def test_a_signed_request_passes_once_and_a_replay_is_refused(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    await _peer(app)
    body = orjson.dumps({"after": 0, "stages": []})
    headers = _signed(CHANGES, body)
    first = await client.post(CHANGES, content=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json() == {"changes": [], "next": 0, "more": False}
    with caplog.at_level(logging.WARNING, logger="pomona.replication"):
        again = await client.post(CHANGES, content=body, headers=headers)
    assert "replayed" in _refusal(again)
    assert any("replayed nonce" in r.getMessage() for r in caplog.records)


async def test_altered_stale_unknown_and_unpaired_requests_are_refused(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    await _peer(app)
    body = orjson.dumps({"after": 0, "stages": []})
    with caplog.at_level(logging.WARNING, logger="pomona.replication"):
        # The body changed on the way: its digest no longer matches.
        altered = orjson.dumps({"after": 0, "stages": ["prod"]})
        answer = await client.post(CHANGES, content=altered, headers=_signed(CHANGES, body))
        assert "Content-Digest" in _refusal(answer)
        # Sent to another path than the one signed.
        report = "/api/v1/replication/peer/report"
        answer = await client.post(report, content=body, headers=_signed(CHANGES, body))
        _refusal(answer)
        # Signed with another key.
        answer = await client.post(CHANGES, content=body, headers=_signed(CHANGES, body, "cd" * 32))
        _refusal(answer)
        # Older than the allowed clock skew (5 minutes by default).
        old = utcnow() - timedelta(minutes=6)
        answer = await client.post(
            CHANGES, content=body, headers=_signed(CHANGES, body, created=old)
        )
        assert "age" in _refusal(answer)
        # No signature at all.
        _refusal(await client.post(CHANGES, content=body))
    reasons = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(reasons) == 5
    # A peer unpaired on this side is refused even with a good signature.
    async with app.state.services.db.transaction() as session:
        peer = (
            await session.get(Peer, 1)
            or (await session.scalars(__import__("sqlalchemy").select(Peer))).one()
        )
        peer.state = "unpaired"
    assert "unpaired" in _refusal(
        await client.post(CHANGES, content=body, headers=_signed(CHANGES, body))
    )


async def test_an_invitation_pairs_once_before_it_expires(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await make_token(app, "admin", "admin")
    invited = await client.post("/api/v1/peers/invitations", json={}, headers=admin)
    assert invited.status_code == 201, invited.text
    code = read_code(invited.json()["code"])
    assert code.url == BASE
    peers = app.state.services.replication.peers

    async def join(secret: str) -> httpx.Response:
        body, _own, key = peers.join_request(code)
        body = {**body, "secret": secret, "name": "branch", "url": "http://branch.test"}
        raw = orjson.dumps(body)
        path = "/api/v1/replication/peer/pair"
        headers = sign("POST", BASE + path, raw, code.invitation_id, bytes.fromhex(key))
        return await client.post(path, content=raw, headers=headers)

    assert (await join("0" * 64)).status_code == 401  # not the invitation's secret
    first = await join(code.secret)
    assert first.status_code == 200, first.text
    assert first.json()["name"] == "hq"
    again = await join(code.secret)
    assert again.status_code == 410
    assert again.json()["errors"][0]["code"] == "invitation_gone"
    listed = await client.get("/api/v1/peers", headers=admin)
    assert [(p["name"], p["state"]) for p in listed.json()["items"]] == [("branch", "paired")]
