"""Write patch definitions from what an app ships: an ``.app`` bundle, a zipped ``.app``, a bare
``Info.plist`` (XML or binary) or a flat installer package (``.pkg``, a xar archive).

It derives what Patch-Starter-Script derived (name, bundle id, version, minimum OS, release date)
and builds the usual template around it; the result is passed through Pomona's own validator, so
what comes out is exactly what a server accepts. Nothing here knows of HTTP or the command line.
"""

from __future__ import annotations

import base64
import bz2
import plistlib
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree

from pomona.errors import Invalid, Problem
from pomona.times import format_time, parse_time
from pomona.titles.validation import check_definition

# Flat packages carry small XML files; anything much larger than this is not one we should trust.
MAX_MEMBER_BYTES = 16 * 1024 * 1024
_XAR_MAGIC = b"xar!"
_XAR_HEADER = struct.Struct(">4sHHQQI")


class StarterError(ValueError):
    """The input cannot give a definition; the message says what to do instead."""


@dataclass(frozen=True)
class AppInfo:
    """What the generator read from the app."""

    name: str | None
    bundle_id: str | None
    version: str | None
    minimum_os: str | None
    app_name: str | None  # "Example.app"
    released: datetime | None


@dataclass(frozen=True)
class ExtensionAttribute:
    key: str
    script: str
    display_name: str | None = None


@dataclass(frozen=True)
class Options:
    """What the user gives; each value, when set, wins over what was read from the app."""

    name: str | None = None
    title_id: str | None = None
    publisher: str | None = None
    version: str | None = None
    minimum_os: str | None = None
    release_date: str | None = None
    bundle_id: str | None = None
    extension_attributes: Sequence[ExtensionAttribute] = ()


# -- reading -----------------------------------------------------------------------------------


def _from_plist(data: bytes, source: str) -> dict[str, Any]:
    try:
        plist = plistlib.loads(data)
    except (plistlib.InvalidFileException, ValueError, OverflowError) as exc:
        raise StarterError(f"{source} is not a property list (XML or binary): {exc}") from None
    if not isinstance(plist, dict):
        raise StarterError(f"{source} is a property list but not a dictionary")
    return plist


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _info(plist: dict[str, Any], bundle_name: str | None, released: datetime | None) -> AppInfo:
    name = (
        _text(plist.get("CFBundleName"))
        or _text(plist.get("CFBundleDisplayName"))
        or (bundle_name.removesuffix(".app") if bundle_name else None)
        or _text(plist.get("CFBundleExecutable"))
    )
    return AppInfo(
        name=name,
        bundle_id=_text(plist.get("CFBundleIdentifier")),
        version=_text(plist.get("CFBundleShortVersionString"))
        or _text(plist.get("CFBundleVersion")),
        minimum_os=_text(plist.get("LSMinimumSystemVersion")),
        app_name=bundle_name or (f"{name}.app" if name else None),
        released=released,
    )


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def _read_bundle(path: Path) -> AppInfo:
    plist_path = path / "Contents" / "Info.plist"
    if not plist_path.is_file():
        raise StarterError(f"{path} has no Contents/Info.plist; is it an application bundle?")
    return _info(_from_plist(plist_path.read_bytes(), str(plist_path)), path.name, _mtime(path))


def _read_zip(path: Path) -> AppInfo:
    try:
        with zipfile.ZipFile(path) as archive:
            found: list[tuple[int, zipfile.ZipInfo, str]] = []
            for entry in archive.infolist():
                parts = PurePosixPath(entry.filename).parts
                if (
                    "__MACOSX" in parts
                    or len(parts) < 3
                    or parts[-2:] != ("Contents", "Info.plist")
                ):
                    continue
                if parts[-3].endswith(".app") and not any(p.endswith(".app") for p in parts[:-3]):
                    found.append((len(parts), entry, parts[-3]))
            if not found:
                raise StarterError(
                    f"{path} holds no .app bundle (no <Name>.app/Contents/Info.plist)"
                )
            _, entry, bundle = min(found, key=lambda f: f[0])
            if entry.file_size > MAX_MEMBER_BYTES:
                raise StarterError(f"{entry.filename} in {path} is too large for an Info.plist")
            data = archive.read(entry)
    except zipfile.BadZipFile as exc:
        raise StarterError(f"{path} is not a zip archive: {exc}") from None
    released = datetime(*entry.date_time, tzinfo=UTC)
    return _info(_from_plist(data, f"{path}:{entry.filename}"), bundle, released)


def _read_plist_file(path: Path) -> AppInfo:
    # A bare Info.plist inside a bundle (Foo.app/Contents/Info.plist) still knows its bundle name.
    bundle = path.parent.parent.name if path.parent.name == "Contents" else ""
    return _info(
        _from_plist(path.read_bytes(), str(path)),
        bundle if bundle.endswith(".app") else None,
        _mtime(path),
    )


class XarArchive:
    """Just enough of the xar format to read a flat package's small XML members.

    Layout: a big-endian header (magic, header size, version, compressed and uncompressed TOC
    lengths, checksum algorithm), the zlib-compressed XML table of contents, then the heap, in
    which each file's data lies at the offset its TOC entry gives.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as handle:
            head = handle.read(_XAR_HEADER.size)
            if len(head) < _XAR_HEADER.size or head[:4] != _XAR_MAGIC:
                raise StarterError(f"{path} is not a flat package (no xar header)")
            _, header_size, _, toc_compressed, toc_size, _ = _XAR_HEADER.unpack(head)
            if toc_size > MAX_MEMBER_BYTES * 4 or toc_compressed > MAX_MEMBER_BYTES * 4:
                raise StarterError(f"{path}: the package's table of contents is implausibly large")
            handle.seek(header_size)
            try:
                toc = zlib.decompress(handle.read(toc_compressed))
            except zlib.error as exc:
                raise StarterError(f"{path}: unreadable table of contents: {exc}") from None
        self.heap_start = header_size + toc_compressed
        try:
            # The TOC is ours to read, not fetched; expat refuses entity expansion attacks.
            self.toc = ElementTree.fromstring(toc)  # noqa: S314
        except ElementTree.ParseError as exc:
            raise StarterError(f"{path}: the table of contents is not XML: {exc}") from None
        self.files = dict(self._walk(self.toc.find("toc"), ""))

    def _walk(self, parent: ElementTree.Element | None, prefix: str) -> Iterator[tuple[str, Any]]:
        for element in parent.findall("file") if parent is not None else []:
            name = prefix + (element.findtext("name") or "")
            if element.findtext("type") == "directory":
                yield from self._walk(element, name + "/")
            else:
                yield name, element

    @property
    def created(self) -> datetime | None:
        text = self.toc.findtext("toc/creation-time")
        parsed = parse_time(text) if text else None
        return parsed[0] if parsed else None

    def read(self, name: str) -> bytes:
        data = self.files[name].find("data")
        if data is None:
            return b""
        offset, length = int(data.findtext("offset", "0")), int(data.findtext("length", "0"))
        size = int(data.findtext("size", "0"))
        if length > MAX_MEMBER_BYTES or size > MAX_MEMBER_BYTES:
            raise StarterError(f"{self.path}: {name} is too large for a package's metadata")
        with self.path.open("rb") as handle:
            handle.seek(self.heap_start + offset)
            raw = handle.read(length)
        encoding = data.find("encoding")
        style = encoding.get("style", "") if encoding is not None else ""
        try:
            if style == "application/x-gzip":  # xar calls zlib streams "gzip"
                return zlib.decompressobj().decompress(raw, MAX_MEMBER_BYTES)
            if style == "application/x-bzip2":
                return bz2.decompress(raw)[:MAX_MEMBER_BYTES]
        except (zlib.error, OSError, ValueError) as exc:
            raise StarterError(f"{self.path}: cannot decompress {name}: {exc}") from None
        return raw


def _xml(data: bytes, what: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(data)  # noqa: S314 (see XarArchive)
    except ElementTree.ParseError as exc:
        raise StarterError(f"{what} is not XML: {exc}") from None


def _app_bundles(root: ElementTree.Element) -> Iterator[dict[str, str]]:
    """``<bundle>`` elements (PackageInfo and Distribution) that are applications."""
    for bundle in root.iter("bundle"):
        path = bundle.get("path", "")
        if path.rstrip("/").endswith(".app") and bundle.get("id"):
            yield dict(bundle.attrib)


def _read_pkg(path: Path) -> AppInfo:
    archive = XarArchive(path)
    infos = [n for n in archive.files if n == "PackageInfo" or n.endswith("/PackageInfo")]
    distribution = (
        _xml(archive.read("Distribution"), f"{path}: Distribution")
        if "Distribution" in archive.files
        else None
    )
    if not infos and distribution is None:
        raise StarterError(f"{path} has neither PackageInfo nor Distribution; is it an installer?")
    bundles: list[tuple[dict[str, str], str | None]] = []
    for name in infos:
        info = _xml(archive.read(name), f"{path}: {name}")
        bundles += [(b, info.get("version")) for b in _app_bundles(info)]
    if distribution is not None:
        bundles += [(b, None) for b in _app_bundles(distribution)]
    if not bundles:
        raise StarterError(
            f"{path} installs no application bundle that its PackageInfo or Distribution names; "
            "give --name, --bundle-id and --app-version, or run the generator on the .app"
        )

    def depth(item: tuple[dict[str, str], str | None]) -> int:
        # The app itself, not an app nested in it (helpers live in Foo.app/Contents/...).
        return item[0]["path"].strip("./").count("/") + 100 * item[0]["path"].count(".app/")

    bundle, package_version = min(bundles, key=depth)
    app_name = PurePosixPath(bundle["path"].rstrip("/")).name
    minimum_os = None
    title = None
    if distribution is not None:
        versions = [v.get("min") for v in distribution.iter("os-version") if v.get("min")]
        minimum_os = versions[0] if versions else None
        title = _text(distribution.findtext("title"))
    return AppInfo(
        name=app_name.removesuffix(".app") or title,
        bundle_id=bundle["id"],
        version=bundle.get("CFBundleShortVersionString")
        or package_version
        or bundle.get("CFBundleVersion"),
        minimum_os=minimum_os,
        app_name=app_name,
        released=archive.created or _mtime(path),
    )


def read_app(path: Path) -> AppInfo:
    """Read an ``.app`` bundle, a zipped ``.app``, an ``Info.plist`` or a flat ``.pkg``."""
    if not path.exists():
        raise StarterError(f"{path} does not exist")
    if path.is_dir():
        return _read_bundle(path)
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic == _XAR_MAGIC:
        return _read_pkg(path)
    if magic == b"PK\x03\x04":
        return _read_zip(path)
    if path.suffix == ".pkg":
        raise StarterError(
            f"{path} is not a flat package; bundle-style packages (directories) and disk images "
            "are not read: point at the .app instead"
        )
    return _read_plist_file(path)


# -- building ----------------------------------------------------------------------------------


def title_id_for(name: str) -> str:
    """The name without spaces or other characters Jamf Pro refuses in an id."""
    return re.sub(r"[^A-Za-z0-9._-]", "", name)


def publisher_for(bundle_id: str) -> str:
    """A guess from a reverse-DNS bundle id: ``com.example.app`` gives ``Example``."""
    parts = [p for p in bundle_id.split(".") if p]
    word = parts[1] if len(parts) > 1 else parts[0] if parts else ""
    return word[:1].upper() + word[1:]


def _criterion(name: str, operator: str, value: str, kind: str = "recon") -> dict[str, Any]:
    return {"name": name, "operator": operator, "value": value, "type": kind, "and": True}


@dataclass(frozen=True)
class _Facts:
    name: str
    title_id: str
    publisher: str
    bundle_id: str
    version: str
    minimum_os: str
    released: str
    app_name: str


def _facts(info: AppInfo, options: Options, now: datetime) -> _Facts:
    name = options.name or info.name
    bundle_id = options.bundle_id or info.bundle_id
    version = options.version or info.version
    minimum_os = options.minimum_os or info.minimum_os
    problems = []
    if not name:
        problems.append(Problem("/name", "no name found in the app; give --name"))
    if not bundle_id:
        problems.append(Problem("/bundleId", "no CFBundleIdentifier found; give --bundle-id"))
    if not version:
        problems.append(
            Problem("/patches/0/version", "no CFBundleShortVersionString; give --app-version")
        )
    if not minimum_os:
        problems.append(
            Problem(
                "/patches/0/minimumOperatingSystem",
                "the app does not say its minimum macOS (LSMinimumSystemVersion); give --min-os",
            )
        )
    released = info.released or now
    if options.release_date:
        parsed = parse_time(options.release_date)
        if parsed is None:
            problems.append(
                Problem("/patches/0/releaseDate", "give --release-date as 2024-06-03T10:00:00Z")
            )
        else:
            released = parsed[0]
    if problems:
        raise Invalid(problems)
    # Narrowed by the checks above.
    assert name and bundle_id  # noqa: PT018
    assert version and minimum_os  # noqa: PT018
    return _Facts(
        name=name,
        title_id=options.title_id or title_id_for(name),
        publisher=options.publisher or publisher_for(bundle_id),
        bundle_id=bundle_id,
        version=version,
        minimum_os=minimum_os,
        released=format_time(released),
        app_name=info.app_name or f"{name}.app",
    )


def _patch(facts: _Facts, version_ea: str | None) -> dict[str, Any]:
    version_test = (
        _criterion(version_ea, "is", facts.version, "extensionAttribute")
        if version_ea
        else _criterion("Application Version", "is", facts.version)
    )
    return {
        "version": facts.version,
        "releaseDate": facts.released,
        "standalone": True,
        "minimumOperatingSystem": facts.minimum_os,
        "reboot": False,
        "killApps": [{"bundleId": facts.bundle_id, "appName": facts.app_name}],
        "components": [
            {
                "name": facts.name,
                "version": facts.version,
                "criteria": [
                    _criterion("Application Bundle ID", "is", facts.bundle_id),
                    version_test,
                ],
            }
        ],
        "capabilities": [
            _criterion("Operating System Version", "greater than or equal", facts.minimum_os)
        ],
        "dependencies": [],
    }


def _definition(facts: _Facts, options: Options) -> dict[str, Any]:
    eas = options.extension_attributes
    # With extension attributes, the first one reports the version (the app may live where
    # inventory does not look), so both "is it installed" and "which version" ask it.
    version_ea = eas[0].key if eas else None
    requirement = (
        _criterion(version_ea, "is not", "", "extensionAttribute")
        if version_ea
        else _criterion("Application Bundle ID", "is", facts.bundle_id)
    )
    return {
        "id": facts.title_id,
        "name": facts.name,
        "publisher": facts.publisher,
        "appName": facts.app_name,
        "bundleId": facts.bundle_id,
        "lastModified": facts.released,
        "currentVersion": facts.version,
        "requirements": [requirement],
        "patches": [_patch(facts, version_ea)],
        "extensionAttributes": [
            {
                "key": ea.key,
                "value": base64.b64encode(ea.script.encode()).decode("ascii"),
                "displayName": ea.display_name or ea.key,
            }
            for ea in eas
        ],
    }


@dataclass(frozen=True)
class Generated:
    definition: dict[str, Any]  # the full definition, as validated
    patch: dict[str, Any]  # its only version
    guessed: list[str]  # what was guessed rather than read or given, to tell the user


def generate(info: AppInfo, options: Options, *, now: datetime | None = None) -> Generated:
    """A full definition with one version, checked by the same validator the server uses.

    Raises ``Invalid`` (problems located as in the definition) when something is missing or
    what was derived does not validate.
    """
    moment = now or datetime.now(UTC)
    facts = _facts(info, options, moment)
    guessed = []
    if not options.publisher:
        guessed.append(f"publisher '{facts.publisher}' (from the bundle id; set --publisher)")
    if not options.title_id and facts.title_id != facts.name:
        guessed.append(f"id '{facts.title_id}' (the name without spaces; set --id)")
    raw = _definition(facts, options)
    checked = check_definition(raw, now=moment, strict=True)
    document = checked.title.to_jamf()
    patches = document["patches"]
    assert isinstance(patches, list)
    return Generated(document, patches[0], guessed)


def generate_from(path: Path, options: Options, *, now: datetime | None = None) -> Generated:
    return generate(read_app(path), options, now=now)


__all__ = [
    "AppInfo",
    "ExtensionAttribute",
    "Generated",
    "Options",
    "StarterError",
    "XarArchive",
    "generate",
    "generate_from",
    "read_app",
]
