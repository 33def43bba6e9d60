"""HTTP routes of replication: the admin API of peers and status (:mod:`.peers`) and the
signed protocol peers speak to each other (:mod:`.protocol`)."""

from __future__ import annotations

from fastapi import FastAPI

from pomona.replication.routes import peers, protocol


def install(app: FastAPI) -> None:
    app.include_router(peers.api)
    app.include_router(peers.status)
    app.include_router(protocol.api)
