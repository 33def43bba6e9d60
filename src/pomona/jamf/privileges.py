"""What each feature needs of the Jamf Pro account, and `pomona jamf check`'s report.

Privilege names are as Jamf Pro's account and API role settings show them. UNVERIFIED: the
exact set each endpoint needs is our reading of Jamf's API documentation, and so is the
account endpoint (``/api/v1/auth``) listing an account's privileges; when that call is refused
the report says the privileges could not be read rather than guess.
"""

from __future__ import annotations

from pomona.errors import DomainError
from pomona.jamf.client import JamfClient
from pomona.jamf.values import CheckReport, FeatureCheck


def _crud(thing: str, *verbs: str) -> list[str]:
    return [f"{verb} {thing}" for verb in verbs]


FEATURES: dict[str, list[str]] = {
    "push": [
        *_crud("Packages", "Create", "Read", "Update"),
        *_crud("Jamf Content Distribution Server Files", "Create", "Read", "Delete"),
    ],
    "remove": [
        *_crud("Packages", "Read", "Delete"),
        *_crud("Jamf Content Distribution Server Files", "Read", "Delete"),
        "Read Policies",
        "Read Patch Management Software Titles",
    ],
    "connect": _crud("Patch External Source", "Create", "Read", "Update", "Delete"),
    "connect --distribution-point": _crud(
        "Distribution Points", "Create", "Read", "Update", "Delete"
    ),
    "connect --webhook-url": _crud("Webhooks", "Create", "Read", "Update", "Delete"),
}


async def check(jamf: JamfClient) -> CheckReport:
    version = await jamf.json("GET", "/api/v1/jamf-pro-version", what="reading the version")
    try:
        account = await jamf.json("GET", "/api/v1/auth", what="reading the account's privileges")
        granted: set[str] | None = set(account["account"]["privileges"])
    except (DomainError, KeyError, TypeError):
        granted = None
    features = [
        FeatureCheck(
            feature,
            needed,
            [p for p in needed if p not in granted] if granted is not None else [],
        )
        for feature, needed in FEATURES.items()
    ]
    return CheckReport(str(version.get("version", "")), granted is not None, features)
