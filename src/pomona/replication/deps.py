"""Typed FastAPI dependencies of the replication domain."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends

from pomona.deps import ServicesDep
from pomona.replication.service import ReplicationService
from pomona.replication.status import PeerHoldingOut, package_peers


def replication_service(found: ServicesDep) -> ReplicationService:
    return found.replication


Replication = Annotated[ReplicationService, Depends(replication_service)]


def peers_of_package(
    replication: Replication,
) -> Callable[[str], Awaitable[list[PeerHoldingOut]]]:
    async def holdings(filename: str) -> list[PeerHoldingOut]:
        return await package_peers(replication, filename)

    return holdings


# The hook the package API calls to show, per peer, whether it has a package.
PackagePeers = Annotated[
    Callable[[str], Awaitable[list[PeerHoldingOut]]], Depends(peers_of_package)
]
