"""The JSON bodies and answers of the replication API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from pomona.replication.models import Offer, Transfer
from pomona.replication.values import PeerEdit, PeerInfo


class InvitationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hours: float | None = Field(
        None, gt=0, le=720, description="How long the code can be used; default the setting"
    )


class InvitationOut(BaseModel):
    code: str = Field(description="Give it to the other site: `pomona peers join CODE`")
    expiresAt: datetime
    url: str = Field(description="This site's URL, carried in the code")


class JoinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invitation: str = Field(min_length=1, max_length=4000, description="The pairing code")


class PeerOut(BaseModel):
    peerId: str
    name: str
    url: str
    state: str = Field(description="This side: paired or unpaired")
    remoteState: str = Field(description="The peer's side as last heard: paired or unpaired")
    stages: list[str] = Field(description="The stages the peer accepts; empty: every stage")
    notify: bool = Field(description="Whether this site tells the peer of changes")
    rateLimit: int = Field(description="Bytes per second fetched from the peer; 0: no limit")
    window: str | None = Field(description="Hours (UTC) transfers from the peer may run")
    reachable: bool
    lastSeenAt: datetime | None
    lastError: str | None
    keyRotatedAt: datetime
    createdAt: datetime

    @classmethod
    def of(cls, info: PeerInfo) -> PeerOut:
        return cls(
            peerId=info.peer_id,
            name=info.name,
            url=info.url,
            state=info.state,
            remoteState=info.remote_state,
            stages=info.stages,
            notify=info.notify,
            rateLimit=info.rate_limit,
            window=info.window,
            reachable=info.reachable,
            lastSeenAt=info.last_seen_at,
            lastError=info.last_error,
            keyRotatedAt=info.key_rotated_at,
            createdAt=info.created_at,
        )


class PeerListOut(BaseModel):
    items: list[PeerOut]


class PeerPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rateLimit: int | None = Field(None, ge=0, le=2**62, description="Bytes per second; 0: none")
    window: str | None = Field(
        None,
        max_length=16,
        description="HH:MM-HH:MM in UTC (e.g. 22:00-06:00); an empty string removes it",
    )
    notify: bool | None = None

    def edit(self) -> PeerEdit:
        return PeerEdit(
            rate_limit=self.rateLimit,
            window=self.window or None,
            clear_window=self.window == "",
            notify=self.notify,
        )


class TransferOut(BaseModel):
    filename: str
    sha256: str
    state: str
    bytes: int
    size: int | None
    rate: int
    lastError: str | None
    updatedAt: datetime

    @classmethod
    def of(cls, row: Transfer | Offer) -> TransferOut:
        return cls(
            filename=row.filename,
            sha256=row.sha256,
            state=row.state,
            bytes=row.received,
            size=row.size if isinstance(row, Transfer) else None,
            rate=row.rate,
            lastError=row.last_error,
            updatedAt=row.updated_at,
        )


class PeerQueueOut(BaseModel):
    peer: PeerOut
    incoming: list[TransferOut] = Field(description="Transfers from the peer not yet done")
    outgoing: list[TransferOut] = Field(description="Packages offered to the peer not yet done")
    lagSeconds: int = Field(description="Age of the oldest package the peer has not finished")
    cursor: int = Field(description="How far this site has read the peer's change log")


class ReplicationOut(BaseModel):
    site: str
    url: str | None
    stages: list[str]
    firewalled: bool
    changeLogHead: int = Field(description="The newest entry of this site's change log")
    peers: list[PeerQueueOut]


class QueuedOut(BaseModel):
    queued: bool
