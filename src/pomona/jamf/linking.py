"""Registering Pomona with Jamf Pro (``pomona jamf connect``) and undoing it (``disconnect``).

Through the classic API: an External Patch Source pointing at Pomona's feed and, if asked, an
HTTP distribution point serving ``/Packages/`` and webhooks to Pomona's receiver. Each item is
known by its name, so running ``connect`` again changes only what differs (nothing, usually).
A plan (what would be created, changed, removed) is computed first; a dry run stops there.

UNVERIFIED: the element names of ``distribution_point`` and ``webhook`` are our reading of the
classic API's documentation; ``patch_external_source``'s (name, host_name, ssl_enabled, port)
are used by the tools the reference cites.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape

from pomona.audit.service import Who, record
from pomona.db import Database
from pomona.errors import Invalid
from pomona.events.outbox import emit
from pomona.events.types import EventType
from pomona.jamf import events
from pomona.jamf.client import JamfClient

# collection -> (element, list key)
KINDS = {
    "patchexternalsources": ("patch_external_source", "patch_external_sources"),
    "distributionpoints": ("distribution_point", "distribution_points"),
    "webhooks": ("webhook", "webhooks"),
}


@dataclass(frozen=True, slots=True)
class LinkOptions:
    name: str = "Pomona"
    distribution_point: bool = False
    webhook_url: str | None = None
    webhook_events: tuple[str, ...] = ("PatchSoftwareTitleUpdated",)


@dataclass(frozen=True, slots=True)
class Item:
    collection: str
    name: str
    fields: dict[str, str]


def wanted(public_url: str | None, options: LinkOptions) -> list[Item]:
    """What Pomona should be in Jamf Pro, from its public URL."""
    if not public_url:
        raise Invalid(
            "set the public_url setting to the address Jamf Pro reaches Pomona at first",
            "/public_url",
            code="public_url_unset",
        )
    parts = urlsplit(public_url)
    ssl = parts.scheme == "https"
    port = str(parts.port or (443 if ssl else 80))
    host = parts.hostname or ""
    # Jamf Pro's SERVER is the host plus the feed's path, without scheme (jamf-pro-setup.md).
    feed = f"{host}{parts.path.rstrip('/')}/jamf/v1"
    items = [
        Item(
            "patchexternalsources",
            options.name,
            {"host_name": feed, "ssl_enabled": str(ssl).lower(), "port": port},
        )
    ]
    if options.distribution_point:
        items.append(
            Item(
                "distributionpoints",
                options.name,
                {
                    "ip_address": host,
                    "is_master": "false",
                    "connection_type": "HTTP",
                    "http_downloads_enabled": "true",
                    "protocol": "https" if ssl else "http",
                    "port": port,
                    "context": parts.path.strip("/"),
                    "no_authentication_required": "true",
                },
            )
        )
    if options.webhook_url:
        for event in options.webhook_events:
            items.append(
                Item(
                    "webhooks",
                    f"{options.name}: {event}",
                    {
                        "enabled": "true",
                        "url": options.webhook_url,
                        "content_type": "application/json",
                        "event": event,
                    },
                )
            )
    return items


async def _existing(jamf: JamfClient, collection: str, name: str) -> dict[str, Any] | None:
    element, plural = KINDS[collection]
    listing = await jamf.json("GET", f"/JSSResource/{collection}", what=f"listing {plural}")
    for entry in listing.get(plural, []):
        if entry.get("name") == name:
            found = await jamf.json(
                "GET",
                f"/JSSResource/{collection}/id/{quote(str(entry['id']))}",
                what=f"reading {element} {entry['id']}",
            )
            return {"id": entry["id"], **found.get(element, {})}
    return None


def _xml(item: Item) -> str:
    element, _ = KINDS[item.collection]
    inner = "".join(
        f"<{k}>{escape(v)}</{k}>" for k, v in {"name": item.name, **item.fields}.items()
    )
    return f"<{element}>{inner}</{element}>"


async def plan(jamf: JamfClient, items: list[Item]) -> list[dict[str, Any]]:
    steps = []
    for item in items:
        found = await _existing(jamf, item.collection, item.name)
        if found is None:
            action = "create"
        else:
            differs = {
                k for k, v in item.fields.items() if str(found.get(k, "")).lower() != v.lower()
            }
            action = "update" if differs else "keep"
        steps.append(
            {
                "action": action,
                "kind": KINDS[item.collection][0],
                "name": item.name,
                "id": found["id"] if found else None,
                "fields": item.fields,
            }
        )
    return steps


async def apply(
    db: Database,
    jamf: JamfClient,
    connection: str,
    items: list[Item],
    *,
    dry_run: bool,
    who: Who,
) -> dict[str, Any]:
    steps = await plan(jamf, items)
    if not dry_run:
        for item, step in zip(items, steps, strict=True):
            xml = {"Content-Type": "application/xml"}
            if step["action"] == "create":
                path = f"/JSSResource/{item.collection}/id/0"
                await jamf.request(
                    "POST", path, what=f"creating {step['kind']}", content=_xml(item), headers=xml
                )
            elif step["action"] == "update":
                path = f"/JSSResource/{item.collection}/id/{quote(str(step['id']))}"
                await jamf.request(
                    "PUT", path, what=f"updating {step['kind']}", content=_xml(item), headers=xml
                )
        await _log(db, who, connection, events.CONNECTED, steps)
    return {"connection": connection, "dryRun": dry_run, "plan": steps}


async def undo(
    db: Database,
    jamf: JamfClient,
    connection: str,
    options: LinkOptions,
    *,
    dry_run: bool,
    who: Who,
) -> dict[str, Any]:
    """Remove every item ``connect`` makes under ``options.name`` (whatever its options were)."""
    steps = []
    for collection in KINDS:
        element, plural = KINDS[collection]
        listing = await jamf.json("GET", f"/JSSResource/{collection}", what=f"listing {plural}")
        for entry in listing.get(plural, []):
            name = str(entry.get("name"))
            if name == options.name or name.startswith(f"{options.name}: "):
                steps.append({"action": "delete", "kind": element, "name": name, "id": entry["id"]})
                if not dry_run:
                    path = f"/JSSResource/{collection}/id/{quote(str(entry['id']))}"
                    await jamf.request("DELETE", path, what=f"deleting {element}")
    if not dry_run:
        await _log(db, who, connection, events.DISCONNECTED, steps)
    return {"connection": connection, "dryRun": dry_run, "plan": steps}


async def _log(
    db: Database,
    who: Who,
    connection: str,
    kind: EventType[events.LinkPayload],
    steps: list[dict[str, Any]],
) -> None:
    changes = [f"{s['action']} {s['kind']} '{s['name']}'" for s in steps if s["action"] != "keep"]
    async with db.transaction() as session:
        action = "jamf.connect" if kind is events.CONNECTED else "jamf.disconnect"
        await record(session, who, action, f"jamf:{connection}", "; ".join(changes) or "no change")
        await emit(
            session,
            who,
            kind,
            events.LinkPayload(connection=connection, changes=changes),
            subject=f"jamf:{connection}",
        )
