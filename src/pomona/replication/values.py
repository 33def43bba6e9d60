"""The values the replication services hand out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson

from pomona.replication.models import Peer


@dataclass(frozen=True, slots=True)
class PeerInfo:
    peer_id: str
    name: str
    url: str
    state: str
    remote_state: str
    stages: list[str]
    notify: bool
    rate_limit: int
    window: str | None
    reachable: bool
    last_seen_at: datetime | None
    last_error: str | None
    key_rotated_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, row: Peer) -> PeerInfo:
        return cls(
            peer_id=row.peer_id,
            name=row.name,
            url=row.url,
            state=row.state,
            remote_state=row.remote_state,
            stages=orjson.loads(row.stages),
            notify=row.notify,
            rate_limit=row.rate_limit,
            window=row.window,
            reachable=row.reachable,
            last_seen_at=row.last_seen_at,
            last_error=row.last_error,
            key_rotated_at=row.key_rotated_at,
            created_at=row.created_at,
        )


@dataclass(frozen=True, slots=True)
class Invited:
    code: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PeerEdit:
    """What an admin may change of a peer; ``None``: leave as it is."""

    rate_limit: int | None = None
    window: str | None = None
    clear_window: bool = False
    notify: bool | None = None


@dataclass(frozen=True, slots=True)
class Holding:
    """Whether one peer has one package, as this site knows it."""

    peer_id: str
    peer: str
    direction: str  # to (the peer fetches it from here) | from (this site fetches it)
    state: str
    sha256: str
    received: int
    size: int | None
    rate: int
    last_error: str | None
    updated_at: datetime
