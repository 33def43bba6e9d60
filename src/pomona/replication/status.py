"""What a package's record shows of replication: per peer, whether it has the package.

The package API's ``GET /packages/{filename}`` calls :func:`package_peers` (through
``replication/deps.PackagePeers``) and adds the list to its answer; nothing else of the
package store knows of peers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from pomona.replication.service import ReplicationService


class PeerHoldingOut(BaseModel):
    peerId: str
    peer: str = Field(description="The peer's site name")
    direction: Literal["to", "from"] = Field(
        description="to: the peer fetches the package from this site; from: this site fetches "
        "it from the peer"
    )
    state: str = Field(
        description="offered, queued, running, waiting (outside the peer's window), done, "
        "failed, removed"
    )
    sha256: str
    bytes: int = Field(description="Bytes the receiving site has")
    rate: int = Field(description="Bytes per second while running")
    lastError: str | None
    updatedAt: datetime


async def package_peers(replication: ReplicationService, filename: str) -> list[PeerHoldingOut]:
    return [
        PeerHoldingOut(
            peerId=h.peer_id,
            peer=h.peer,
            direction="to" if h.direction == "to" else "from",
            state=h.state,
            sha256=h.sha256,
            bytes=h.received,
            rate=h.rate,
            lastError=h.last_error,
            updatedAt=h.updated_at,
        )
        for h in await replication.holdings(filename)
    ]
