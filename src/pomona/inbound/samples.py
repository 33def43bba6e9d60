"""Sample Jamf Pro webhooks: every event type Jamf Pro sends, with random but plausible device
data, as JSON or as Jamf's ``<JSSEvent>`` XML.

``pomona jamf webhook send`` posts them to any receiver and the tests post them to Pomona. The
shapes follow Jamf's webhook documentation and the captured payloads in the reference examples
(``PatchSoftwareTitleUpdated`` as a 2025 server sends it, with ``reportUrls``). Only the standard
library and the client's own dependencies are used: the command-line client imports this.
"""

from __future__ import annotations

import random
import string
import time
import uuid
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

# The 23 events Jamf Pro offers (Settings > Global > Webhooks > Webhook Event).
EVENT_TYPES = (
    "ComputerAdded",
    "ComputerCheckIn",
    "ComputerInventoryCompleted",
    "ComputerPatchPolicyCompleted",
    "ComputerPolicyFinished",
    "ComputerPushCapabilityChanged",
    "DeviceAddedToDEP",
    "DeviceRateLimited",
    "JSSShutdown",
    "JSSStartup",
    "MobileDeviceCheckIn",
    "MobileDeviceCommandCompleted",
    "MobileDeviceEnrolled",
    "MobileDeviceInventoryCompleted",
    "MobileDevicePushSent",
    "MobileDeviceUnEnrolled",
    "PatchSoftwareTitleUpdated",
    "PushSent",
    "RestAPIOperation",
    "SCEPChallenge",
    "SmartGroupComputerMembershipChange",
    "SmartGroupMobileDeviceMembershipChange",
    "SmartGroupUserMembershipChange",
)

# Jamf Pro refuses these in a webhook's header map (its documentation, 10.32 and 10.39); so do
# Pomona's sources and the sample sender.
REFUSED_HEADERS = frozenset(
    {"content-type", "user-agent", "accept-encoding", "content-length", "host"}
)

_PEOPLE = ("Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson", "Linus Pauling")
_DEPARTMENTS = ("Design", "Engineering", "Finance", "Information Technology", "Marketing")
_MAC_MODELS = (
    ("MacBookPro18,3", "MacBook Pro (14-inch, 2021)"),
    ("Mac14,2", "MacBook Air (M2, 2022)"),
    ("Mac15,12", "MacBook Air (13-inch, M3, 2024)"),
    ("Mac13,1", "Mac Studio (2022)"),
)
_MAC_OS = (("14.6.1", "23G93"), ("15.1", "24B83"), ("15.2", "24C101"), ("13.7.1", "22H221"))
_IOS_MODELS = (("iPhone15,2", "iPhone 14 Pro"), ("iPad13,18", "iPad (10th generation)"))
_IOS = (("17.6.1", "21G93"), ("18.1", "22B83"), ("18.2", "22C152"))
_TITLES = (("Google Chrome", "131.0.6778.86"), ("Mozilla Firefox", "133.0"), ("Zoom", "6.3.0"))


class _Maker:
    """Random but plausible values, from one seedable generator."""

    def __init__(self, rng: random.Random, server: str) -> None:
        self.rng, self.server = rng, server.rstrip("/")

    def serial(self) -> str:
        return "".join(self.rng.choices(string.ascii_uppercase + string.digits, k=12))

    def udid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4)).upper()

    def mac(self) -> str:
        return ":".join(f"{self.rng.randrange(256):02X}" for _ in range(6))

    def ip(self) -> str:
        return (
            f"10.{self.rng.randrange(256)}.{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}"
        )

    def person(self) -> dict[str, str]:
        real = self.rng.choice(_PEOPLE)
        user = real.lower().replace(" ", ".")
        return {
            "realName": real,
            "username": user,
            "emailAddress": f"{user}@example.com",
            "phone": f"555-01{self.rng.randrange(100):02d}",
            "position": self.rng.choice(("Designer", "Engineer", "Analyst", "Manager")),
            "department": self.rng.choice(_DEPARTMENTS),
            "building": self.rng.choice(("HQ", "North", "Annex")),
            "room": str(self.rng.randrange(100, 500)),
            "userDirectoryID": "-1",
        }

    def computer(self) -> dict[str, Any]:
        model, _ = self.rng.choice(_MAC_MODELS)
        version, build = self.rng.choice(_MAC_OS)
        who = self.person()
        return {
            "alternateMacAddress": self.mac(),
            "building": who["building"],
            "department": who["department"],
            "deviceName": f"{who['realName'].split()[0]}'s MacBook",
            "emailAddress": who["emailAddress"],
            "ipAddress": self.ip(),
            "jssID": self.rng.randrange(1, 5000),
            "macAddress": self.mac(),
            "model": model,
            "osBuild": build,
            "osVersion": version,
            "phone": who["phone"],
            "position": who["position"],
            "realName": who["realName"],
            "reportedIpAddress": self.ip(),
            "room": who["room"],
            "serialNumber": self.serial(),
            "udid": self.udid(),
            "userDirectoryID": "-1",
            "username": who["username"],
            "managementId": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
        }

    def mobile(self) -> dict[str, Any]:
        model, display = self.rng.choice(_IOS_MODELS)
        version, build = self.rng.choice(_IOS)
        who = self.person()
        return {
            "bluetoothMacAddress": self.mac(),
            "deviceName": f"{who['realName'].split()[0]}'s {display.split()[0]}",
            "icciID": "".join(self.rng.choices(string.digits, k=19)),
            "imei": "".join(self.rng.choices(string.digits, k=15)),
            "ipAddress": self.ip(),
            "jssID": self.rng.randrange(1, 5000),
            "model": display,
            "modelDisplay": display,
            "osBuild": build,
            "osVersion": version,
            "product": model,
            "room": who["room"],
            "serialNumber": self.serial(),
            "udid": self.udid().replace("-", "").lower() + "00000000",
            "userDirectoryID": "-1",
            "username": who["username"],
            "version": version,
            "wifiMacAddress": self.mac(),
        }

    def server_info(self) -> dict[str, Any]:
        return {
            "hostAddress": self.ip(),
            "institution": "Example Corp",
            "isClusterMaster": True,
            "jssUrl": f"{self.server}/",
            "webApplicationPath": "/usr/local/jss/tomcat/webapps/ROOT",
        }

    def group(self, kind: str) -> dict[str, Any]:
        ids = sorted(self.rng.sample(range(1, 5000), 3))
        names = [f"{kind}-{n}" for n in ids]
        found: dict[str, Any] = {
            "groupAddedDevices": names[:2] if kind != "user" else [],
            "groupAddedDevicesIds": ids[:2] if kind != "user" else [],
            "groupRemovedDevices": names[2:] if kind != "user" else [],
            "groupRemovedDevicesIds": ids[2:] if kind != "user" else [],
            "jssid": self.rng.randrange(1, 300),
            "name": self.rng.choice(("Needs macOS 15", "Stale inventory", "FileVault off")),
            "smartGroup": True,
        }
        if kind == "user":
            found |= {"groupAddedUserIds": ids[:2], "groupRemovedUserIds": ids[2:]}
        else:
            found["computer"] = kind == "computer"
        return found


def _events(m: _Maker) -> dict[str, Callable[[], dict[str, Any]]]:
    title, latest = m.rng.choice(_TITLES)
    title_id = m.rng.randrange(1, 300)
    return {
        "ComputerAdded": m.computer,
        "ComputerCheckIn": lambda: {"computer": m.computer(), "trigger": "CHECKIN", "username": ""},
        "ComputerInventoryCompleted": m.computer,
        "ComputerPatchPolicyCompleted": lambda: {
            "computer": m.computer(),
            "deployedVersion": latest,
            "eventActions": {"action": [f"Installed {title} {latest}", "Inventory updated"]},
            "patchPolicyId": m.rng.randrange(1, 200),
            "patchPolicyName": f"{title} - latest",
            "softwareTitleId": title_id,
            "successful": m.rng.random() > 0.2,
        },
        "ComputerPolicyFinished": lambda: {
            "computer": m.computer(),
            "policyId": m.rng.randrange(1, 500),
            "successful": m.rng.random() > 0.2,
        },
        "ComputerPushCapabilityChanged": lambda: m.computer() | {"pushCapability": "ENABLED"},
        "DeviceAddedToDEP": lambda: {
            "assetTag": f"A{m.rng.randrange(10000, 99999)}",
            "description": "MacBook Air",
            "deviceAssignedDate": f"{time.strftime('%Y-%m-%d')} 09:30:00",
            "deviceEnrollmentProgramInstanceId": 1,
            "model": "MacBook Air",
            "serialNumber": m.serial(),
        },
        "DeviceRateLimited": lambda: {"serialNumber": m.serial(), "udid": m.udid()},
        "JSSShutdown": m.server_info,
        "JSSStartup": m.server_info,
        "MobileDeviceCheckIn": m.mobile,
        "MobileDeviceCommandCompleted": lambda: m.mobile() | {"command": "DeviceInformation"},
        "MobileDeviceEnrolled": m.mobile,
        "MobileDeviceInventoryCompleted": m.mobile,
        "MobileDevicePushSent": m.mobile,
        "MobileDeviceUnEnrolled": m.mobile,
        "PatchSoftwareTitleUpdated": lambda: {
            "jssID": title_id,
            "lastUpdate": int(time.time() * 1000) - m.rng.randrange(3_600_000),
            "latestVersion": latest,
            "name": title,
            "reportUrls": [f"{m.server}//patch.html?id={title_id}&o=r"],
        },
        "PushSent": lambda: {"type": "Computer", "udid": m.udid(), "serialNumber": m.serial()},
        "RestAPIOperation": lambda: {
            "authorizedUsername": "api-autopkg",
            "objectID": m.rng.randrange(1, 900),
            "objectName": f"{title}-{latest}.pkg",
            "objectTypeName": "Package",
            "operationSuccessful": True,
            "restAPIOperationType": m.rng.choice(("POST", "PUT", "DELETE")),
        },
        "SCEPChallenge": lambda: {
            "enrollmentProcess": "AUTOMATED_DEVICE_ENROLLMENT",
            "scepServerUrl": f"{m.server}/CA/SCEP",
            "targetDevice": m.computer(),
            "targetUser": m.person(),
            "templateName": "Wi-Fi",
        },
        "SmartGroupComputerMembershipChange": lambda: m.group("computer"),
        "SmartGroupMobileDeviceMembershipChange": lambda: m.group("mobile"),
        "SmartGroupUserMembershipChange": lambda: m.group("user"),
    }


def sample(
    event_type: str,
    *,
    rng: random.Random | None = None,
    webhook_id: int = 1,
    name: str | None = None,
    server: str = "https://example.jamfcloud.com",
) -> dict[str, Any]:
    """One webhook as Jamf Pro sends it: ``{"webhook": {...}, "event": {...}}``."""
    maker = _Maker(rng or random.Random(), server)  # noqa: S311 (sample data, no secret)
    build = _events(maker).get(event_type)
    if build is None:
        raise KeyError(f"{event_type!r} is not a Jamf Pro webhook event ({', '.join(EVENT_TYPES)})")
    return {
        "webhook": {
            "eventTimestamp": int(time.time() * 1000),
            "id": webhook_id,
            "name": name or event_type,
            "webhookEvent": event_type,
        },
        "event": build(),
    }


def to_xml(envelope: dict[str, Any]) -> bytes:
    """The ``<JSSEvent>`` document of a webhook (Jamf Pro's ``text/xml`` content type).

    A list under a plural name becomes that element holding one child per item under the
    singular name (``<reportUrls><reportUrl>``); under another name, the element repeated
    (``<action>`` in ``<eventActions>``). :func:`pomona.inbound.payloads.parse` reads both back.
    """
    root = ElementTree.Element("JSSEvent")
    for key, value in envelope.items():
        _append(root, key, value)
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        + ElementTree.tostring(root, encoding="unicode").encode()
    )


def _append(parent: ElementTree.Element, key: str, value: Any) -> None:
    if isinstance(value, list):
        if key.endswith("s") and len(key) > 1:
            holder = ElementTree.SubElement(parent, key)
            for item in value:
                _append(holder, key[:-1], item)
        else:
            for item in value:
                _append(parent, key, item)
        return
    element = ElementTree.SubElement(parent, key)
    if isinstance(value, dict):
        for child, inner in value.items():
            _append(element, child, inner)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)


__all__ = ["EVENT_TYPES", "REFUSED_HEADERS", "sample", "to_xml"]
