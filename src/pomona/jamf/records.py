"""Jamf Pro's package records and JCDS listing, as a push and a removal read and write them.

Pomona owns only a record's ``packageName`` (on creation), ``fileName``, ``hashType`` and
``hashValue``: an update writes back every other field as Jamf Pro answered it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from pomona.errors import DomainError, Invalid, NotFound
from pomona.jamf.client import JamfClient
from pomona.jamf.values import JcdsFile

# What Jamf Pro 11.5+ takes for a new record (examples/jamf_api/packages_v1_create_request).
NEW_RECORD: dict[str, Any] = {
    "categoryId": "-1",
    "info": "",
    "notes": "",
    "priority": 10,
    "fillUserTemplate": False,
    "uninstall": False,
    "rebootRequired": False,
    "osInstall": False,
    "osRequirements": "",
    "suppressUpdates": False,
    "suppressFromDock": False,
    "suppressEula": False,
    "suppressRegistration": False,
}


def _rsql(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def find(jamf: JamfClient, filename: str) -> dict[str, Any] | None:
    """The record named ``filename`` (by ``packageName``, then by ``fileName``), or None."""
    for field in ("packageName", "fileName"):
        body = await jamf.json(
            "GET",
            "/api/v1/packages",
            params={
                "page": 0,
                "page-size": 100,
                "sort": "id:asc",
                "filter": f"{field}=={_rsql(filename)}",
            },
            what="looking up the package record",
        )
        for item in body.get("results", []):
            if item.get(field) == filename:
                return dict(item)
    return None


async def get(jamf: JamfClient, package_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await jamf.json(
        "GET", f"/api/v1/packages/{quote(package_id)}", what="reading the package record"
    )
    return found


async def ensure(jamf: JamfClient, filename: str) -> dict[str, Any]:
    """The record of ``filename``, created if missing, its ``fileName`` set to it."""
    found = await find(jamf, filename)
    if found is None:
        body = {**NEW_RECORD, "packageName": filename, "fileName": filename}
        try:
            created = await jamf.json(
                "POST", "/api/v1/packages", json=body, what="creating the package record"
            )
        except DomainError:
            # Another tool (or a run of this push before a crash) may have just made it.
            found = await find(jamf, filename)
            if found is None:
                raise
        else:
            found = await get(jamf, str(created["id"]))
    return await update(jamf, found, fileName=filename)


async def update(jamf: JamfClient, found: dict[str, Any], **owned: Any) -> dict[str, Any]:
    """Set the fields Pomona owns that differ; the record as it then is."""
    changed = {k: v for k, v in owned.items() if str(found.get(k) or "").lower() != str(v).lower()}
    if not changed:
        return found
    body = {**found, **changed}
    await jamf.request(
        "PUT",
        f"/api/v1/packages/{quote(str(found['id']))}",
        json=body,
        what="updating the package record",
    )
    return body


async def delete(jamf: JamfClient, package_id: str) -> None:
    await jamf.request(
        "DELETE", f"/api/v1/packages/{quote(package_id)}", what="deleting the package record"
    )


async def jcds_files(jamf: JamfClient) -> list[JcdsFile] | None:
    """The JCDS 2.0 listing; None when the server has no JCDS 2.0 distribution point."""
    try:
        body = await jamf.json("GET", "/api/v1/jcds/files", what="listing the JCDS files")
    except NotFound:
        return None
    if not isinstance(body, list):
        raise Invalid("Jamf Pro's JCDS listing is not a list", code="jamf_error")
    return [JcdsFile.from_jamf(item) for item in body]


async def jcds_file(jamf: JamfClient, filename: str) -> JcdsFile | None:
    files = await jcds_files(jamf)
    return next((f for f in files or [] if f.file_name == filename), None)


async def delete_file(jamf: JamfClient, filename: str) -> None:
    await jamf.request(
        "DELETE",
        f"/api/v1/jcds/files/{quote(filename, safe='')}",
        what=f"deleting {filename} from the JCDS",
    )


async def refresh_inventory(jamf: JamfClient, filename: str) -> bool:
    """Ask Jamf Pro to read the cloud distribution point's files again (without it Jamf Pro may
    keep a wrong size or checksum: "The package could not be verified"). False when the server
    has neither endpoint."""
    try:
        await jamf.request("POST", "/api/v1/jcds/refresh-inventory", what="refreshing inventory")
    except NotFound:
        try:
            await jamf.request(
                "POST",
                "/api/v1/cloud-distribution-point/refresh-inventory",
                params={"file-name": filename},
                what="refreshing inventory",
            )
        except NotFound:
            return False
    return True
