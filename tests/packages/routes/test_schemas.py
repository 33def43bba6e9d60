"""The OpenAPI description of the package routes."""

from __future__ import annotations

import httpx


async def test_openapi_documents_every_route(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    paths = schema["paths"]
    assert "/Packages/{filename}" in paths
    assert "/api/v1/uploads/{upload_id}" in paths
    for path, operations in paths.items():
        if "packages" in path.lower() or "uploads" in path:
            for method, operation in operations.items():
                if method == "options":
                    continue
                codes = set(operation["responses"])
                assert codes - {"200", "201", "204", "206", "304", "307", "422"}, (path, method)
