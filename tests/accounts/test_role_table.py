"""The role table: every route of the OpenAPI document, called by every role, answers as the
table says. A route missing from the table fails the test, so a new route cannot go unchecked.

Each role is a person holding it, calling with a personal token of all their rights; anonymous
sends nothing. Allowed: neither 401 nor 403 (a 404 or 422 for the sample values is fine).
Refused: 403 with a code. Anonymous, on anything not public: 401.
"""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from tests.accounts.conftest import make_person, personal_token
from tests.conftest import fixture_text

PUBLIC = "public"  # anyone, no credentials: the Jamf feed, /Packages/, probes, sign-in
SIGNED_IN = "signed-in"  # any role
PERSON = "person"  # any role, as a person (the /users/me routes)
ADMIN = "admin"
PEER = "peer"  # a paired site's signed request; no token opens it (401 for every caller)

ROLES = ("viewer", "packager", "publisher@ns", "editor", "admin")

TABLE: dict[str, dict[str, str]] = {
    "/jamf/v1/": {"GET": PUBLIC, "HEAD": PUBLIC},
    "/jamf/v1/software": {"GET": PUBLIC, "HEAD": PUBLIC},
    "/jamf/v1/software/{ids}": {"GET": PUBLIC, "HEAD": PUBLIC},
    "/jamf/v1/patch/{title_id}": {"GET": PUBLIC, "HEAD": PUBLIC},
    "/jamf/preview/v1/": {"GET": PUBLIC, "HEAD": PUBLIC},
    "/jamf/preview/v1/software": {"GET": PUBLIC, "HEAD": PUBLIC},
    "/jamf/preview/v1/software/{ids}": {"GET": PUBLIC, "HEAD": PUBLIC},
    "/jamf/preview/v1/patch/{title_id}": {"GET": PUBLIC, "HEAD": PUBLIC},
    "/jamf/v1/{namespace}/": {"GET": PUBLIC, "HEAD": PUBLIC},
    "/jamf/v1/{namespace}/software": {"GET": PUBLIC, "HEAD": PUBLIC},
    "/jamf/v1/{namespace}/software/{ids}": {"GET": PUBLIC, "HEAD": PUBLIC},
    "/jamf/v1/{namespace}/patch/{title_id}": {"GET": PUBLIC, "HEAD": PUBLIC},
    "/jamf/preview/v1/{namespace}/": {"GET": PUBLIC, "HEAD": PUBLIC},
    "/jamf/preview/v1/{namespace}/software": {"GET": PUBLIC, "HEAD": PUBLIC},
    "/jamf/preview/v1/{namespace}/software/{ids}": {"GET": PUBLIC, "HEAD": PUBLIC},
    "/jamf/preview/v1/{namespace}/patch/{title_id}": {"GET": PUBLIC, "HEAD": PUBLIC},
    "/api/v1/titles": {"GET": "titles:read", "POST": "titles:write"},
    "/api/v1/titles/{title_id}": {
        "GET": "titles:read",
        "PUT": "titles:write",
        "DELETE": "titles:write",
    },
    "/api/v1/titles/{title_id}/versions": {"GET": "titles:read", "POST": "titles:write"},
    "/api/v1/titles/{title_id}/versions/{version}": {
        "GET": "titles:read",
        "PUT": "titles:write",
        "DELETE": "titles:write",
    },
    "/api/v1/titles/{title_id}/history": {"GET": "titles:read"},
    "/api/v1/titles/{title_id}/history/{number}": {"GET": "titles:read"},
    "/api/v1/titles/{title_id}/diff": {"GET": "titles:read"},
    "/api/v1/titles/{title_id}/rollback": {"POST": "titles:write"},
    "/api/v1/titles/{title_id}/enable": {"POST": "titles:write"},
    "/api/v1/titles/{title_id}/versions/{version}/enable": {"POST": "titles:write"},
    "/api/v1/titles/{title_id}/disable": {"POST": "titles:write"},
    "/api/v1/titles/{title_id}/versions/{version}/disable": {"POST": "titles:write"},
    "/api/v1/titles/{title_id}/order": {"PUT": "titles:write"},
    "/api/v1/titles/{title_id}/order/sort": {"POST": "titles:write"},
    "/api/v1/backups": {"GET": "titles:read"},
    "/api/v1/backups/restore": {"POST": "titles:write"},
    "/api/v1/imports": {"POST": "titles:write"},
    "/api/v1/imports/remote": {"POST": "titles:write"},
    "/api/v1/namespaces": {"GET": SIGNED_IN, "POST": ADMIN},
    "/api/v1/namespaces/{slug}": {"GET": SIGNED_IN, "PATCH": ADMIN, "DELETE": ADMIN},
    "/api/v1/audit": {"GET": ADMIN},
    "/api/v1/session": {"GET": SIGNED_IN, "POST": PUBLIC, "DELETE": SIGNED_IN},
    "/api/v1/session/oidc/login": {"GET": PUBLIC},
    "/api/v1/session/oidc/callback": {"GET": PUBLIC},
    "/api/v1/session/oidc/logout": {"POST": SIGNED_IN},
    "/api/v1/signup": {"POST": PUBLIC},
    "/api/v1/signup/verify": {"POST": PUBLIC},
    "/api/v1/signup/resend": {"POST": PUBLIC},
    "/api/v1/password-reset": {"POST": PUBLIC},
    "/api/v1/password-reset/confirm": {"POST": PUBLIC},
    "/api/v1/users/me/password": {"PUT": PERSON},
    "/api/v1/users/me/totp": {"POST": PERSON},
    "/api/v1/users/me/totp/confirm": {"POST": PERSON},
    "/api/v1/users/me/totp/disable": {"POST": PERSON},
    "/api/v1/users/me/tokens": {"GET": PERSON, "POST": PERSON},
    "/api/v1/users/me/tokens/{token}": {"DELETE": PERSON},
    "/api/v1/users": {"GET": ADMIN, "POST": ADMIN},
    "/api/v1/users/{name}": {"GET": ADMIN, "PATCH": ADMIN, "DELETE": ADMIN},
    "/api/v1/users/{name}/password": {"POST": ADMIN},
    "/api/v1/users/{name}/totp": {"DELETE": ADMIN},
    "/api/v1/users/{name}/sessions": {"GET": ADMIN, "DELETE": ADMIN},
    "/api/v1/jobs/{job_id}": {"GET": SIGNED_IN},
    "/api/v1/jamf/connections": {"GET": ADMIN, "POST": ADMIN},
    "/api/v1/jamf/connections/{name}": {"GET": ADMIN, "PATCH": ADMIN, "DELETE": ADMIN},
    "/api/v1/jamf/connections/{name}/check": {"POST": ADMIN},
    "/api/v1/jamf/connections/{name}/connect": {"POST": ADMIN},
    "/api/v1/jamf/connections/{name}/disconnect": {"POST": ADMIN},
    "/api/v1/jamf/connections/{name}/removals": {"POST": ADMIN},
    "/api/v1/jamf/pushes": {"GET": ADMIN, "POST": ADMIN},
    "/api/v1/jamf/pushes/{push_id}": {"GET": ADMIN},
    "/api/v1/jamf/rules": {"GET": ADMIN, "POST": ADMIN},
    "/api/v1/jamf/rules/{connection}/{tag}": {"DELETE": ADMIN},
    "/api/v1/jamf/rules/apply": {"POST": ADMIN},
    "/healthz": {"GET": PUBLIC},
    "/readyz": {"GET": PUBLIC},
    "/metrics": {"GET": PUBLIC},
    "/api/v1/title": {"POST": "titles:write"},
    "/api/v1/title/{title_id}": {"DELETE": "titles:write"},
    "/api/v1/title/{title_id}/version": {"POST": "titles:write"},
    "/api/v1/backup": {"GET": "titles:read"},
    "/api/v1/restore": {"POST": "titles:write"},
    "/api/v1/events": {"GET": "events:read"},
    "/api/v1/events/stream": {"GET": "events:read"},
    "/api/v1/events/types": {"GET": "events:read"},
    "/api/v1/events/types/{name}": {"GET": "events:read"},
    "/api/v1/webhooks/endpoints": {"GET": ADMIN, "POST": ADMIN},
    "/api/v1/webhooks/endpoints/{endpoint_id}": {"GET": ADMIN, "PATCH": ADMIN, "DELETE": ADMIN},
    "/api/v1/webhooks/endpoints/{endpoint_id}/rotate": {"POST": ADMIN},
    "/api/v1/webhooks/endpoints/{endpoint_id}/deliveries": {"GET": ADMIN},
    "/api/v1/webhooks/endpoints/{endpoint_id}/deliveries/{delivery_id}/replay": {"POST": ADMIN},
    "/api/v1/webhooks": {"GET": ADMIN, "POST": ADMIN},
    "/api/v1/webhooks/{webhook_id}": {"DELETE": ADMIN},
    "/api/v1/packages": {"GET": "packages:read"},
    "/api/v1/packages/{filename}": {
        "GET": "packages:read",
        "PATCH": "packages:write",
        "DELETE": "packages:write",
        "PUT": "packages:write",
    },
    "/api/v1/packages/{filename}/manifest": {"GET": "packages:read"},
    "/api/v1/packages/{filename}/download": {"GET": "packages:read", "HEAD": "packages:read"},
    "/api/v1/uploads/": {"POST": "packages:write"},
    "/api/v1/uploads/{upload_id}": {
        "HEAD": "packages:write",
        "PATCH": "packages:write",
        "DELETE": "packages:write",
    },
    "/Packages/{filename}": {"GET": PUBLIC, "HEAD": PUBLIC},
    # A Jamf Pro source authenticates with its own credentials, not a Pomona token.
    "/hooks/jamf/{source}": {"POST": PUBLIC},
    "/api/v1/inbound/sources": {"GET": ADMIN, "POST": ADMIN},
    "/api/v1/inbound/sources/{name}": {"GET": ADMIN, "PATCH": ADMIN, "DELETE": ADMIN},
    "/api/v1/inbound/sources/{name}/events": {"GET": ADMIN},
    "/api/v1/users/me/notifications": {"GET": PERSON, "POST": PERSON},
    "/api/v1/users/me/notifications/{subscription}": {"DELETE": PERSON},
    "/api/v1/users/{name}/notifications": {"GET": ADMIN, "POST": ADMIN},
    "/api/v1/users/{name}/notifications/{subscription}": {"DELETE": ADMIN},
    "/api/v1/subscriptions": {"GET": "titles:read", "POST": "titles:write"},
    "/api/v1/subscriptions/sources": {"GET": "titles:read"},
    "/api/v1/subscriptions/bulk": {"POST": "titles:write"},
    "/api/v1/subscriptions/{subscription_id}": {
        "GET": "titles:read",
        "PATCH": "titles:write",
        "DELETE": "titles:write",
    },
    "/api/v1/subscriptions/{subscription_id}/check": {"POST": "titles:write"},
    "/api/v1/subscriptions/{subscription_id}/document": {"GET": "titles:read"},
    "/api/v1/subscriptions/{subscription_id}/overrides": {"PUT": "titles:write"},
    "/api/v1/subscriptions/{subscription_id}/detach": {"POST": "titles:write"},
    "/api/v1/subscriptions/{subscription_id}/attach": {"POST": "titles:write"},
    "/api/v1/peers": {"GET": ADMIN, "POST": ADMIN},
    "/api/v1/peers/invitations": {"POST": ADMIN},
    "/api/v1/peers/{peer_id}": {"GET": ADMIN, "PATCH": ADMIN, "DELETE": ADMIN},
    "/api/v1/peers/{peer_id}/rotate": {"POST": ADMIN},
    "/api/v1/peers/{peer_id}/sync": {"POST": ADMIN},
    "/api/v1/replication": {"GET": ADMIN},
    "/api/v1/replication/peer/pair": {"POST": PUBLIC},
    "/api/v1/replication/peer/notify": {"POST": PEER},
    "/api/v1/replication/peer/changes": {"POST": PEER},
    "/api/v1/replication/peer/blobs/{sha256}/manifest": {"GET": PEER},
    "/api/v1/replication/peer/blobs/{sha256}": {"GET": PEER},
    "/api/v1/replication/peer/report": {"POST": PEER},
    "/api/v1/replication/peer/unpair": {"POST": PEER},
    "/api/v1/replication/peer/rotate": {"POST": PEER},
}

# Path parameters: real where a resource is seeded (the title Example), unknown elsewhere.
SAMPLES = {
    "title_id": "Example",
    "ids": "Example",
    "version": "1.0",
    "name": "nobody",
    "subscription_id": "1",
    "webhook_id": "1",
    "sha256": "0" * 64,
    "peer_id": "0f",
}


def _operations(app: FastAPI) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method in ("get", "head", "post", "put", "patch", "delete")
    ]


def _allowed(rule: str, role: str) -> bool:
    if rule in (PUBLIC, SIGNED_IN, PERSON):
        return True
    if rule == ADMIN:
        return role == "admin"
    scopes = {
        "viewer": {"titles:read", "packages:read", "events:read"},
        "packager": {"titles:read", "packages:read", "packages:write", "events:read"},
        "publisher@ns": {"titles:read", "packages:read", "titles:write", "events:read"},
        "editor": {"titles:read", "packages:read", "titles:write", "events:read"},
        "admin": {
            "admin",
            "titles:read",
            "packages:read",
            "titles:write",
            "packages:write",
            "events:read",
        },
    }
    return rule in scopes[role]


def _code(answer: httpx.Response) -> str | None:
    if not answer.content:
        return None  # HEAD
    code = answer.json()["errors"][0].get("code")
    return code if isinstance(code, str) else None


def test_every_route_is_in_the_table() -> None:
    from pomona.app import create_app
    from pomona.settings import Settings

    app = create_app(Settings())
    found = set(_operations(app))
    listed = {(method, path) for path, methods in TABLE.items() for method in methods}
    assert sorted(found - listed) == [], "routes missing from the role table"
    assert sorted(listed - found) == [], "the role table lists routes the app does not have"


async def test_every_route_answers_every_role_as_the_table_says(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    callers: dict[str, dict[str, str]] = {"anonymous": {}}
    for role in ROLES:
        name = role.split("@")[0]
        await make_person(app, name, role)
        callers[role] = await personal_token(app, name)
    seeded = await client.post(
        "/api/v1/titles", content=fixture_text("example.json"), headers=callers["admin"]
    )
    assert seeded.status_code == 201
    wrong = []
    for method, path in _operations(app):
        rule = TABLE.get(path, {}).get(method)
        if rule is None:
            continue  # reported by test_every_route_is_in_the_table
        url = re.sub(r"\{(\w+)(:path)?\}", lambda m: SAMPLES.get(m.group(1), "x0"), path)
        body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
        for role, headers in callers.items():
            answer = await client.request(method, url, headers=headers, **body)
            status = answer.status_code
            if rule == PEER:
                fine = status == 401
            elif role == "anonymous":
                fine = status not in (401, 403) if rule == PUBLIC else status == 401
            elif _allowed(rule, role):
                # A publisher holds titles:write for its own namespace only: a write to a title
                # of another namespace may be refused, though never for want of the scope.
                refused = status == 401 or (status == 403 and _code(answer) == "scope_missing")
                fine = not refused if role == "publisher@ns" else status not in (401, 403)
            else:
                fine = status == 403 and (method == "HEAD" or _code(answer) is not None)
            if not fine:
                wrong.append(f"{method} {path} as {role}: {status} {answer.text[:120]}")
    assert wrong == []


async def test_a_publisher_writes_in_its_namespace_only(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_person(app, "pat", "publisher@ns")
    await make_person(app, "eve", "editor")
    publisher = await personal_token(app, "pat")
    editor = await personal_token(app, "eve")
    definition = fixture_text("example.json")
    assert (await client.post("/api/v1/titles", content=definition, headers=editor)).is_success
    for method in ("PUT", "DELETE"):
        answer = await client.request(
            method, "/api/v1/titles/Example", content=definition, headers=publisher
        )
        assert answer.status_code == 403, answer.text
        assert answer.json()["errors"][0]["code"] == "namespace_forbidden"
    assert (await client.get("/api/v1/titles/Example", headers=publisher)).status_code == 200
    assert (await client.delete("/api/v1/titles/Example", headers=editor)).status_code == 204

    # In its own namespace, the publisher writes: its new titles go there.
    await make_person(app, "root", "admin")
    made = await client.post(
        "/api/v1/namespaces",
        json={"slug": "ns", "displayName": "NS"},
        headers=await personal_token(app, "root"),
    )
    assert made.status_code == 201, made.text
    own = await client.post("/api/v1/titles", content=definition, headers=publisher)
    assert own.status_code == 201, own.text
    assert own.json()["namespace"] == "ns"
