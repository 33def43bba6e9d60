"""HTTP routes of the Jamf Pro companion: connections and the jobs run against them
(:mod:`.connections`), pushes and push rules (:mod:`.pushes`)."""

from __future__ import annotations

from pomona.jamf.routes import connections, pushes

ROUTERS = (connections.api, pushes.api)

__all__ = ["ROUTERS"]
