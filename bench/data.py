"""Generated test data in the shape of the real corpus: titles, versions and package files."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

_EA = base64.b64encode(
    b'#!/bin/sh\nv=$(defaults read "/Applications/$1.app/Contents/Info.plist" '
    b'CFBundleShortVersionString 2>/dev/null)\necho "<result>${v:-Not Installed}</result>"\n'
).decode()


def patch(title_id: str, version: str, day: int) -> dict[str, Any]:
    """One version, with the criteria, kill-apps and capabilities a real definition carries."""
    bundle = f"com.example.{title_id.lower()}"
    stamp = f"20{20 + day // 365 % 10:02d}-{1 + day // 28 % 12:02d}-{1 + day % 28:02d}T12:00:00Z"
    return {
        "version": version,
        "releaseDate": stamp,
        "standalone": True,
        "minimumOperatingSystem": "12.0",
        "reboot": False,
        "killApps": [{"bundleId": bundle, "appName": f"{title_id}.app"}],
        "components": [
            {
                "name": title_id,
                "version": version,
                "criteria": [
                    {
                        "name": "Application Bundle ID",
                        "operator": "is",
                        "value": bundle,
                        "type": "recon",
                        "and": True,
                    },
                    {
                        "name": f"{title_id.lower()}-version",
                        "operator": "is",
                        "value": version,
                        "type": "extensionAttribute",
                    },
                ],
            }
        ],
        "capabilities": [
            {
                "name": "Operating System Version",
                "operator": "greater than or equal",
                "value": "12.0",
                "type": "recon",
            }
        ],
        "dependencies": [],
    }


def version_string(index: int) -> str:
    return f"{1 + index // 100}.{index // 10 % 10}.{index % 10}"


def title(title_id: str, versions: int) -> dict[str, Any]:
    """A title whose newest version is ``version_string(versions - 1)``."""
    patches = [patch(title_id, version_string(i), i) for i in reversed(range(versions))]
    bundle = f"com.example.{title_id.lower()}"
    return {
        "id": title_id,
        "name": f"{title_id} for Mac",
        "publisher": "Example Software",
        "appName": f"{title_id}.app",
        "bundleId": bundle,
        "lastModified": patches[0]["releaseDate"],
        "currentVersion": patches[0]["version"],
        "requirements": [
            {
                "name": "Application Bundle ID",
                "operator": "is",
                "value": bundle,
                "type": "recon",
                "and": True,
            }
        ],
        "patches": patches,
        "extensionAttributes": [
            {
                "key": f"{title_id.lower()}-version",
                "value": _EA,
                "displayName": f"{title_id} version",
            }
        ],
    }


def corpus(count: int, big_versions: int) -> tuple[list[dict[str, Any]], str]:
    """``count`` titles of 1 to 8 versions, plus one of ``big_versions``; the big one's id."""
    titles = [title(f"App{i:04d}", 1 + i % 8) for i in range(count)]
    titles.append(title("BigTitle", big_versions))
    return titles, "BigTitle"


def package_file(path: Path, mib: int) -> str:
    """Write ``mib`` MiB of incompressible bytes; return their SHA-256."""
    digest = hashlib.sha256()
    block = bytearray(os.urandom(1024 * 1024))
    with path.open("wb") as out:
        for i in range(mib):
            block[:8] = i.to_bytes(8, "little")  # no two blocks alike, so nothing dedupes
            out.write(block)
            digest.update(block)
    return digest.hexdigest()
