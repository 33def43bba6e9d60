"""The web UI's third-party browser files: pinned, fetched from their published npm packages,
checked against the SHA-256 digests below, and committed under ``static/vendor/``. Pomona serves
them itself: admin servers are often offline, and a CDN would also break the strict
Content-Security-Policy.

``python -m pomona.ui.vendor`` checks the committed files against the pins (exit 1 on a
mismatch); ``python -m pomona.ui.vendor --refresh`` downloads each package's tarball from the
npm registry, extracts the pinned files and checks them before writing. To move to a new
version, change ``version`` and run ``--refresh --update-pins``, read the diff, and commit the
files with their new pins.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import httpx

VENDOR = Path(__file__).parent / "static" / "vendor"
REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class Asset:
    package: str  # the npm package
    version: str
    member: str  # the path in the package's tarball
    name: str  # the file's name under static/vendor/
    sha256: str

    @property
    def tarball(self) -> str:
        bare = self.package.rsplit("/", 1)[-1]
        return f"{REGISTRY}/{self.package}/-/{bare}-{self.version}.tgz"


ASSETS = (
    Asset(
        "htmx.org",
        "2.0.11",
        "package/dist/htmx.min.js",
        "htmx.min.js",
        "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717",
    ),
    Asset(
        "htmx.org",
        "2.0.11",
        "package/LICENSE",
        "htmx.LICENSE.txt",
        "d3d2456f76414f2456104660ebd65aff1c04cd7966b942bdabd63f3cdb316a38",
    ),
    Asset(
        "tus-js-client",
        "4.3.1",
        "package/dist/tus.min.js",
        "tus.min.js",
        "8cbb1b63fccc3bba0ae73ad1deb160ce046c3750851d0c3e94921ae3ef070eb8",
    ),
    Asset(
        "tus-js-client",
        "4.3.1",
        "package/LICENSE",
        "tus.LICENSE.txt",
        "2ec372e137fa65938a6551e9abaa3d3ea21f5ebd398fca00a13354ea881e6539",
    ),
    Asset(
        "@picocss/pico",
        "2.1.1",
        "package/css/pico.classless.min.css",
        "pico.classless.min.css",
        "61207a40ffc02a42d1e50143651c121beab70ed413c934c1ff84fa263ba436b0",
    ),
    Asset(
        "@picocss/pico",
        "2.1.1",
        "package/LICENSE.md",
        "pico.LICENSE.txt",
        "afaff063e044233f917b7807dccab022f09dca474f92b642846bee4850655bbf",
    ),
)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check(folder: Path = VENDOR) -> list[str]:
    """What differs between the committed files and their pins (empty: all match)."""
    problems = []
    for asset in ASSETS:
        path = folder / asset.name
        if not path.exists():
            problems.append(f"{asset.name}: missing (run with --refresh)")
        elif (found := digest(path.read_bytes())) != asset.sha256:
            problems.append(f"{asset.name}: sha256 {found}, pinned {asset.sha256}")
    return problems


def fetch(asset: Asset, tarballs: dict[str, bytes]) -> bytes:
    if asset.tarball not in tarballs:
        answer = httpx.get(asset.tarball, follow_redirects=True, timeout=60)
        answer.raise_for_status()
        tarballs[asset.tarball] = answer.content
    with tarfile.open(fileobj=io.BytesIO(tarballs[asset.tarball]), mode="r:gz") as archive:
        member = archive.extractfile(asset.member)
        if member is None:
            raise SystemExit(f"{asset.tarball} has no file {asset.member}")
        return member.read()


def refresh(folder: Path = VENDOR, *, update_pins: bool = False) -> list[str]:
    """Download every asset; write those matching their pins (all, with ``update_pins``), and
    say what did not match."""
    folder.mkdir(parents=True, exist_ok=True)
    tarballs: dict[str, bytes] = {}
    problems = []
    for asset in ASSETS:
        data = fetch(asset, tarballs)
        found = digest(data)
        if found != asset.sha256 and not update_pins:
            problems.append(f"{asset.name}: the registry's sha256 {found}, pinned {asset.sha256}")
            continue
        (folder / asset.name).write_bytes(data)
        if found != asset.sha256:
            print(f"new pin for {asset.name}: {found}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pomona.ui.vendor", description=__doc__)
    parser.add_argument("--refresh", action="store_true", help="download from the npm registry")
    parser.add_argument(
        "--update-pins", action="store_true", help="with --refresh: write files whatever they hash"
    )
    options = parser.parse_args(argv)
    problems = refresh(update_pins=options.update_pins) if options.refresh else check()
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{len(ASSETS)} files match their pins in {VENDOR}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
