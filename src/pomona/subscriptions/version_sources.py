"""Version sources: small plugins that read the newest version of an app from where its vendor
publishes it.

A plugin is a :class:`Plugin`: a name, a sentence, the ``Accept`` header it asks with, whether
redirects are followed, the options it requires, and ``read``, a pure function from the
fetched answer (:class:`pomona.net.Fetched`) and the :class:`SourceOptions` to every
:class:`Found` version in it. Fetching (through the outbound guard, conditionally), choosing
the newest and trimming are shared, so a plugin only parses. To add one, write ``read`` and
:func:`register` it; ``docs/subscriptions.md`` shows an example.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
from pydantic import BaseModel, ConfigDict, Field

from pomona.errors import Invalid, Problem
from pomona.net import Fetched, FetchError
from pomona.times import format_time
from pomona.titles.ordering import version_key
from pomona.titles.version_strings import refusal


class SourceOptions(BaseModel):
    """What a version source may be told. Each plugin reads the options it needs."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    tag_pattern: str | None = Field(
        None,
        alias="tagPattern",
        max_length=500,
        description="GitHub: a regular expression over tag names whose one capture group is "
        "the version (default: the tag without a leading 'v')",
    )
    prereleases: bool = Field(False, description="Take pre-releases and beta channels too")
    pattern: str | None = Field(
        None,
        max_length=500,
        description="web page, redirect: a regular expression whose one capture group is "
        "the version",
    )
    path: str | None = Field(
        None,
        max_length=500,
        description="JSON: where the version is, e.g. 'releases[0].version'",
    )
    draft: bool = Field(
        False,
        description="Add a found version disabled, for an admin to enable (approve) it",
    )
    package: str | None = Field(
        None,
        max_length=255,
        pattern=r"^[^/\\\x00-\x1f]+$",
        description="Wait for this package: a file name in Pomona's store, with {version} for "
        "the version (e.g. 'Example-{version}.pkg'). A found version is added disabled and "
        "enabled by the first check after the package is published",
    )
    version_parts: int | None = Field(
        None,
        alias="versionParts",
        ge=1,
        le=10,
        description="Keep only the first N numbers of the version (3.14.5.80757 -> 3.14.5)",
    )


@dataclass(frozen=True, slots=True)
class Found:
    """A version a source lists, with what the source says about it."""

    version: str
    release_date: str | None = None  # ISO-8601, as Jamf writes it
    minimum_os: str | None = None
    prerelease: bool = False


Reader = Callable[[Fetched, SourceOptions], list[Found]]


@dataclass(frozen=True, slots=True)
class Plugin:
    name: str
    summary: str
    read: Reader
    accept: str = "*/*"
    follow: bool = True  # False: the answer is the redirect itself (``Fetched.location``)
    requires: tuple[str, ...] = ()  # options that must be given

    def check(self, options: SourceOptions) -> None:
        problems = [
            Problem(
                f"/options/{name}",
                f"the {self.name} source needs '{name}'",
                code="source_option_invalid",
            )
            for name in self.requires
            if getattr(options, _field(name)) in (None, "")
        ]
        for name in ("tag_pattern", "pattern"):
            text = getattr(options, name)
            if text is not None:
                problems.extend(_check_pattern(text, name))
        if problems:
            raise Invalid(problems, code="version_source_invalid")


PLUGINS: dict[str, Plugin] = {}


def register(plugin: Plugin) -> Plugin:
    """Add a version source; its name is what a subscription's ``kind`` says."""
    if plugin.name in PLUGINS or plugin.name == "definition":
        raise ValueError(f"a version source named {plugin.name!r} exists")
    PLUGINS[plugin.name] = plugin
    return plugin


def newest(found: list[Found], options: SourceOptions) -> Found | None:
    """The newest usable version: pre-releases left out unless asked for, trimmed to
    ``versionParts``, and only versions Pomona can serve."""
    best: Found | None = None
    for item in found:
        if item.prerelease and not options.prereleases:
            continue
        version = _trim(item.version.strip(), options.version_parts)
        if refusal(version) is not None:
            continue
        if best is None or version_key(version) > version_key(best.version):
            best = Found(version, item.release_date, item.minimum_os, item.prerelease)
    return best


# -- the plugins ---------------------------------------------------------------------------------


def _github(answer: Fetched, options: SourceOptions) -> list[Found]:
    data = _json(answer)
    releases = data if isinstance(data, list) else [data]
    tag = re.compile(options.tag_pattern or r"^v?(.+)$")
    found = []
    for release in releases:
        if not isinstance(release, dict) or release.get("draft") is True:
            continue
        name = release.get("tag_name")
        match = tag.search(name) if isinstance(name, str) else None
        if match is None:
            continue
        found.append(
            Found(
                match.group(1) if tag.groups else match.group(0),
                _iso(release.get("published_at")),
                prerelease=release.get("prerelease") is True,
            )
        )
    return found


SPARKLE = "{http://www.andymatuschak.org/xml-namespaces/sparkle}"


def _sparkle(answer: Fetched, _options: SourceOptions) -> list[Found]:
    root = _xml(answer)
    found = []
    for item in root.iter("item"):
        enclosure = item.find("enclosure")
        attributes = enclosure.attrib if enclosure is not None else {}
        version = (
            _text(item, "shortVersionString")
            or attributes.get(f"{SPARKLE}shortVersionString")
            or _text(item, "version")
            or attributes.get(f"{SPARKLE}version")
        )
        if not version:
            continue
        published = item.findtext("pubDate")
        found.append(
            Found(
                version,
                _rfc2822(published),
                _text(item, "minimumSystemVersion"),
                prerelease=bool(_text(item, "channel")),
            )
        )
    return found


def _electron(answer: Fetched, _options: SourceOptions) -> list[Found]:
    # latest-mac.yml: only its top-level scalars are read (version, releaseDate), which is
    # all electron-updater itself compares; no YAML library, no object construction.
    fields: dict[str, str] = {}
    for line in _text_of(answer).splitlines():
        match = re.match(r"^([A-Za-z]+):\s*(.*?)\s*$", line)
        if match and match.group(2):
            fields.setdefault(match.group(1), match.group(2).strip("'\""))
    version = fields.get("version")
    if not version:
        raise FetchError(f"{answer.url} has no top-level 'version:'; is it a latest-mac.yml?")
    return [Found(version, _iso(fields.get("releaseDate")), prerelease="-" in version)]


def _homebrew(answer: Fetched, _options: SourceOptions) -> list[Found]:
    data = _json(answer)
    if not isinstance(data, dict) or not isinstance(data.get("version"), str):
        raise FetchError(f"{answer.url} has no 'version' string; is it a cask's API JSON?")
    minimum = None
    macos = (data.get("depends_on") or {}).get("macos") if isinstance(data, dict) else None
    if isinstance(macos, dict):
        floor = macos.get(">=")
        if isinstance(floor, list) and floor and re.fullmatch(r"\d+(\.\d+)*", str(floor[0])):
            minimum = str(floor[0])
    # Casks write "1.2.3,4567" for version and build: the version is before the comma.
    return [Found(data["version"].split(",")[0], minimum_os=minimum)]


def _page(answer: Fetched, options: SourceOptions) -> list[Found]:
    pattern = re.compile(options.pattern or "")
    return [Found(m.group(1)) for m in pattern.finditer(_text_of(answer))]


def _redirect(answer: Fetched, options: SourceOptions) -> list[Found]:
    if answer.location is None:
        raise FetchError(f"{answer.url} did not redirect; the redirect source reads a redirect")
    name = unquote(PurePosixPath(urlsplit(answer.location).path).name)
    match = re.search(options.pattern or "", name)
    if match is None:
        raise FetchError(f"the redirect's file name '{name[:200]}' does not match the pattern")
    return [Found(match.group(1))]


def _json_path(answer: Fetched, options: SourceOptions) -> list[Found]:
    value: Any = _json(answer)
    for step in _steps(options.path or ""):
        value = _down(value, step)
        if value is _NOTHING:
            raise FetchError(f"{answer.url} has nothing at '{options.path}'")
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise FetchError(f"{answer.url} has a {type(value).__name__} at '{options.path}'")
    return [Found(str(value))]


for _plugin in (
    Plugin(
        "github",
        "GitHub releases API JSON (/releases or /releases/latest)",
        _github,
        accept="application/vnd.github+json",
    ),
    Plugin("sparkle", "A Sparkle appcast (RSS)", _sparkle, accept="application/rss+xml, */*"),
    Plugin("electron", "An electron-updater latest-mac.yml", _electron),
    Plugin(
        "homebrew",
        "A Homebrew cask's API JSON (formulae.brew.sh/api/cask/<token>.json)",
        _homebrew,
        accept="application/json",
    ),
    Plugin("page", "A regular expression over a web page", _page, requires=("pattern",)),
    Plugin(
        "redirect",
        "The file name a download URL redirects to (never followed)",
        _redirect,
        follow=False,
        requires=("pattern",),
    ),
    Plugin(
        "jsonpath",
        "A path into any JSON document",
        _json_path,
        accept="application/json",
        requires=("path",),
    ),
):
    register(_plugin)


# -- what the plugins share ----------------------------------------------------------------------


def _field(alias: str) -> str:
    return {"tagPattern": "tag_pattern", "versionParts": "version_parts"}.get(alias, alias)


def _check_pattern(text: str, name: str) -> list[Problem]:
    try:
        compiled = re.compile(text)
    except re.error as exc:
        return [
            Problem(
                f"/options/{name}", f"not a regular expression: {exc}", code="source_option_invalid"
            )
        ]
    if compiled.groups != 1 and not (name == "tag_pattern" and compiled.groups == 0):
        return [
            Problem(
                f"/options/{name}", "needs exactly one capture group", code="source_option_invalid"
            )
        ]
    return []


def _trim(version: str, parts: int | None) -> str:
    if parts is None:
        return version
    match = re.match(r"^\d+(?:\.\d+)*", version)
    if match is None:
        return version
    return ".".join(match.group(0).split(".")[:parts])


def _text_of(answer: Fetched) -> str:
    return answer.body.decode("utf-8", errors="replace")


def _json(answer: Fetched) -> Any:
    try:
        return orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        raise FetchError(f"{answer.url} did not answer JSON") from None


def _xml(answer: Fetched) -> ElementTree.Element:
    # Entities are how XML bombs and external reads happen; an appcast needs neither.
    if b"<!DOCTYPE" in answer.body or b"<!ENTITY" in answer.body:
        raise FetchError(f"{answer.url} declares a DOCTYPE or entities, which are not read")
    try:
        # No DOCTYPE (refused above), and expat >= 2.4 bounds entity expansion anyway.
        return ElementTree.fromstring(answer.body)  # noqa: S314
    except ElementTree.ParseError as exc:
        raise FetchError(f"{answer.url} is not XML: {exc}") from None


def _text(item: ElementTree.Element, name: str) -> str | None:
    text = item.findtext(f"{SPARKLE}{name}")
    return text.strip() if text and text.strip() else None


def _iso(value: Any) -> str | None:
    from pomona.times import parse_time

    parsed = parse_time(value) if isinstance(value, str) else None
    return format_time(parsed[0]) if parsed else None


def _rfc2822(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return format_time(parsedate_to_datetime(value.strip()))
    except (TypeError, ValueError, IndexError):
        return _iso(value)


_NOTHING = object()


def _down(value: Any, step: str | int) -> Any:
    """One step of a JSON path: a list's item or an object's member, or ``_NOTHING``."""
    if isinstance(step, int):
        ok = isinstance(value, list) and -len(value) <= step < len(value)
        return value[step] if ok else _NOTHING
    return value[step] if isinstance(value, dict) and step in value else _NOTHING


def _steps(path: str) -> list[str | int]:
    steps: list[str | int] = []
    for part in re.findall(r"[^.\[\]]+|\[-?\d+\]", path.removeprefix("$").lstrip(".")):
        steps.append(int(part[1:-1]) if part.startswith("[") else part)
    return steps


__all__ = ["PLUGINS", "Found", "Plugin", "SourceOptions", "newest", "register"]
