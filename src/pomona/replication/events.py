"""The event types of the replication domain, gathered by the events catalogue through
``TYPES``."""

from __future__ import annotations

from pydantic import BaseModel, Field

from pomona.events.types import EventType


class PeerPayload(BaseModel):
    peerId: str = Field(description="This site's id for the peer")
    name: str = Field(description="The peer's site name")
    url: str = Field(description="Where this site reaches the peer")


class PeerUnreachablePayload(PeerPayload):
    error: str = Field(description="Why the last request to the peer failed")


class ReplicationPayload(BaseModel):
    filename: str = Field(description="The package's name")
    sha256: str = Field(description="Its content's SHA-256")
    size: int = Field(description="Its size in bytes")
    peerId: str = Field(description="The peer the package came from")


class ReplicationFailedPayload(ReplicationPayload):
    error: str = Field(description="Why the transfer failed (it is tried again)")


class PackageRemovedPayload(BaseModel):
    filename: str = Field(description="The package's name")
    sha256: str = Field(description="The content removed (a tombstone names it)")
    peerId: str = Field(description="The peer that removed it")


PEER_PAIRED = EventType("peer.paired", "A site was paired with this one.", PeerPayload)
PEER_UNPAIRED = EventType(
    "peer.unpaired", "A pairing ended, from this side or the peer's.", PeerPayload
)
PEER_KEY_ROTATED = EventType("peer.key_rotated", "A pair's key was replaced.", PeerPayload)
PEER_UPDATED = EventType(
    "peer.updated", "A peer's limits, window or notification changed.", PeerPayload
)
PEER_UNREACHABLE = EventType(
    "peer.unreachable", "A peer stopped answering this site's requests.", PeerUnreachablePayload
)
REPLICATION_COMPLETED = EventType(
    "replication.completed",
    "A package arrived from a peer, verified, and was published here.",
    ReplicationPayload,
)
REPLICATION_FAILED = EventType(
    "replication.failed",
    "A transfer from a peer failed; it is tried again.",
    ReplicationFailedPayload,
)
REPLICATION_REMOVED = EventType(
    "replication.removed",
    "A package was removed here because a peer deleted or demoted that same content.",
    PackageRemovedPayload,
)

TYPES = (
    PEER_PAIRED,
    PEER_UNPAIRED,
    PEER_KEY_ROTATED,
    PEER_UPDATED,
    PEER_UNREACHABLE,
    REPLICATION_COMPLETED,
    REPLICATION_FAILED,
    REPLICATION_REMOVED,
)
