"""The floor under the feed's figures: granian answering the feed's bytes from memory through a
do-nothing RSGI application, with the headers a feed answer carries and nothing else (no
routing beyond a dictionary, no conditional request, no gzip, no request id, no metrics).

What it serves at 8 and 32 connections is the most any Python application under granian can
serve on the machine; the feed table shows it beside nginx and Pomona, so that the distance to
nginx reads as the server's own part and Pomona's part. ``bench.run`` starts it with
``BENCH_FLOOR_ROUTES`` (a JSON object: URL path -> file) as
``granian --interface rsgi bench.floor:app``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


class Floor:
    def __init__(self, routes: dict[str, str]) -> None:
        self.answers: dict[str, tuple[list[tuple[str, str]], bytes]] = {}
        for path, file in routes.items():
            body = Path(file).read_bytes()
            headers = [
                ("content-type", "application/json"),
                ("etag", f'"{hashlib.sha256(body).hexdigest()[:32]}"'),
                ("cache-control", "no-cache"),
                ("vary", "Accept-Encoding"),
            ]
            self.answers[path] = (headers, body)

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        found = self.answers.get(scope.path)
        if found is None:
            protocol.response_bytes(404, [], b"")
            return
        protocol.response_bytes(200, found[0], found[1])


app = Floor(json.loads(os.environ.get("BENCH_FLOOR_ROUTES", "{}")))
