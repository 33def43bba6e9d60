"""Deleting a package from Jamf Pro: its file on the JCDS only, or the file and its record.

Refused, unless forced, while a policy or a patch title uses the package (asked of Jamf Pro
itself, so a change made in the Jamf Pro console counts); a dry run says what would go.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from pomona.audit.service import Who, record
from pomona.db import Database
from pomona.errors import Conflict, Problem
from pomona.events.outbox import emit
from pomona.jamf import events, records
from pomona.jamf.client import JamfClient


async def users_of(jamf: JamfClient, package_id: str) -> list[str]:
    """The policies and patch titles that use the package record ``package_id``."""
    found: list[str] = []
    # UNVERIFIED: the classic API's JSON shape of a policy's package_configuration.
    listing = await jamf.json("GET", "/JSSResource/policies", what="listing the policies")
    for item in listing.get("policies", []):
        policy = await jamf.json(
            "GET",
            f"/JSSResource/policies/id/{quote(str(item['id']))}",
            what=f"reading policy {item['id']}",
        )
        packages = policy.get("policy", {}).get("package_configuration", {}).get("packages", [])
        if any(str(p.get("id")) == package_id for p in packages):
            found.append(f"policy '{item.get('name')}' (id {item['id']})")
    # UNVERIFIED: each patch title configuration lists `packages: [{packageId, version}]`.
    titles = await jamf.json(
        "GET", "/api/v2/patch-software-title-configurations", what="listing the patch titles"
    )
    for title in titles if isinstance(titles, list) else titles.get("results", []):
        if any(str(p.get("packageId")) == package_id for p in title.get("packages", [])):
            name = title.get("displayName") or title.get("id")
            found.append(f"patch title '{name}' (id {title.get('id')})")
    return found


async def remove(
    db: Database,
    jamf: JamfClient,
    connection: str,
    filename: str,
    *,
    with_record: bool,
    force: bool,
    dry_run: bool,
    who: Who,
) -> dict[str, Any]:
    """Delete the JCDS file (and the record with ``with_record``); the report of what went (or,
    on a dry run, would go)."""
    found = await records.find(jamf, filename)
    file = await records.jcds_file(jamf, filename)
    used_by = await users_of(jamf, str(found["id"])) if found is not None else []
    if used_by and not force:
        raise Conflict(
            [
                Problem("/filename", f"'{filename}' is used by {user}", code="jamf_package_in_use")
                for user in used_by
            ]
            + [Problem("/force", "remove it from them first, or force the deletion")],
            code="jamf_package_in_use",
        )
    report: dict[str, Any] = {
        "connection": connection,
        "filename": filename,
        "dryRun": dry_run,
        "usedBy": used_by,
        "file": "absent" if file is None else ("would delete" if dry_run else "deleted"),
        "record": "kept",
    }
    if with_record:
        report["record"] = "absent" if found is None else ("would delete" if dry_run else "deleted")
    if dry_run:
        return report
    if file is not None:
        await records.delete_file(jamf, filename)
    if with_record and found is not None:
        await records.delete(jamf, str(found["id"]))
    async with db.transaction() as session:
        detail = f"from {connection}: file {report['file']}, record {report['record']}"
        await record(session, who, "jamf.package.remove", f"package:{filename}", detail)
        payload = events.RemovalPayload(
            connection=connection, filename=filename, record=with_record, forced=force
        )
        await emit(session, who, events.PACKAGE_REMOVED, payload, subject=f"package:{filename}")
    return report
