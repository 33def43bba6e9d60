"""Version sources: each plugin reads its format's realistic fixture, served from loopback
through the outbound guard, and refuses malformed and hostile answers with a message; a newer
version becomes a new version of the title, made from its newest one."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from pomona.audit.service import Who
from pomona.errors import Invalid
from pomona.net import FetchError, FetchPolicy, fetch_answer
from pomona.subscriptions.values import NewSubscription
from pomona.subscriptions.version_sources import PLUGINS, SourceOptions, newest
from pomona.titles.templates import from_newest
from tests.subscriptions.conftest import Upstream, fixture_bytes, fixture_json
from tests.subscriptions.test_sync import services

POLICY = FetchPolicy.from_settings(["127.0.0.0/8"], timeout=2, max_bytes=64 * 1024, max_redirects=3)
WHO = Who("token:test")


async def newest_from(upstream: Upstream, kind: str, where: str, **options: Any) -> Any:
    plugin = PLUGINS[kind]
    chosen = SourceOptions.model_validate(options)
    plugin.check(chosen)
    answer = await fetch_answer(
        upstream.base + where, POLICY, accept=plugin.accept, follow=plugin.follow
    )
    return newest(plugin.read(answer, chosen), chosen)


@pytest.mark.parametrize(
    ("kind", "fixture", "options", "version", "released", "minimum"),
    [
        ("github", "github_releases.json", {}, "2.2.0", "2024-06-11T08:30:00Z", None),
        ("github", "github_releases.json", {"prereleases": True}, "3.0.0-beta.1", None, None),
        ("sparkle", "appcast.xml", {}, "2.2.1", "2024-06-18T14:30:00Z", "12.0"),
        ("sparkle", "appcast.xml", {"prereleases": True}, "2.3.0b1", None, None),
        ("electron", "latest-mac.yml", {}, "2.4.0", "2024-07-02T15:04:05Z", None),
        ("homebrew", "cask.json", {}, "2.5.0", None, "12"),
        ("page", "download.html", {"pattern": r"Version (\d+(?:\.\d+)+)"}, "2.6.1", None, None),
        ("jsonpath", "versions.json", {"path": "channels.stable.releases[0].version"}, "2.7.0",
         None, None),
    ],
)  # fmt: skip
async def test_each_source_finds_the_newest_version(
    upstream: Upstream,
    kind: str,
    fixture: str,
    options: dict[str, Any],
    version: str,
    released: str | None,
    minimum: str | None,
) -> None:
    upstream.serve(f"/{fixture}", fixture_bytes(fixture), "text/plain")
    found = await newest_from(upstream, kind, f"/{fixture}", **options)
    assert found is not None
    assert found.version == version
    if released is not None:
        assert found.release_date == released
    if minimum is not None:
        assert found.minimum_os == minimum


async def test_a_github_tag_pattern_and_version_parts(upstream: Upstream) -> None:
    releases = [{"tag_name": "release-3.14.5.80757", "draft": False, "prerelease": False}]
    upstream.serve("/releases", releases)
    found = await newest_from(
        upstream, "github", "/releases", tagPattern=r"^release-(.+)$", versionParts=3
    )
    assert found is not None
    assert found.version == "3.14.5"


async def test_the_redirect_source_reads_the_location_and_never_follows_it(
    upstream: Upstream,
) -> None:
    target = upstream.serve("/files/Example-2.8.0.dmg", b"x" * 10, "application/octet-stream")
    upstream.redirect("/latest", target.replace("2.8.0", "2.8.0"))
    found = await newest_from(upstream, "redirect", "/latest", pattern=r"Example-([\d.]+)\.dmg")
    assert found is not None
    assert found.version == "2.8.0"
    assert upstream.requests_to("/files/Example-2.8.0.dmg") == []  # not followed


@pytest.mark.parametrize(
    ("kind", "body", "options", "message"),
    [
        ("github", fixture_bytes("github_wrong_types.json"), {}, None),
        ("github", b"not json", {}, "did not answer JSON"),
        ("sparkle", fixture_bytes("appcast_bomb.xml"), {}, "DOCTYPE"),
        ("sparkle", b"<rss><channel><item>", {}, "is not XML"),
        ("electron", b"files: []\n", {}, "no top-level 'version:'"),
        ("homebrew", b'{"version": ["2.0"]}', {}, "no 'version' string"),
        ("jsonpath", b'{"a": [1]}', {"path": "a[5]"}, "nothing at"),
        ("jsonpath", b'{"a": {"b": 1}}', {"path": "a"}, "a dict at"),
        ("redirect", b"{}", {"pattern": "(x)"}, "did not redirect"),
    ],
)
async def test_malformed_answers_are_refused_with_a_reason(
    upstream: Upstream, kind: str, body: bytes, options: dict[str, Any], message: str | None
) -> None:
    upstream.serve("/source", body, "text/plain")
    if message is None:  # read, but nothing usable in it
        assert await newest_from(upstream, kind, "/source", **options) is None
        return
    with pytest.raises(FetchError, match=message):
        await newest_from(upstream, kind, "/source", **options)


def test_options_are_checked_before_anything_is_fetched() -> None:
    with pytest.raises(Invalid) as refused:
        PLUGINS["page"].check(SourceOptions())
    assert refused.value.problems[0].path == "/options/pattern"
    with pytest.raises(Invalid, match="exactly one capture group"):
        PLUGINS["redirect"].check(SourceOptions(pattern="no group"))
    with pytest.raises(Invalid, match="not a regular expression"):
        PLUGINS["page"].check(SourceOptions(pattern="(unclosed"))


async def test_hostile_answers_fail_within_the_limits(upstream: Upstream) -> None:
    upstream.serve("/huge", b"x" * 65536)
    upstream.routes["/huge"].chunks = 4  # 256 KiB against a 64 KiB limit
    with pytest.raises(FetchError, match="more than 65536 bytes"):
        await fetch_answer(upstream.base + "/huge", POLICY)
    upstream.serve("/slow", b"{}")
    upstream.routes["/slow"].delay = 3.0
    with pytest.raises(FetchError, match="within 2 s"):
        await fetch_answer(upstream.base + "/slow", POLICY)
    upstream.redirect("/loop-a", upstream.base + "/loop-b")
    upstream.redirect("/loop-b", upstream.base + "/loop-a")
    with pytest.raises(FetchError, match="redirects in a loop"):
        await fetch_answer(upstream.base + "/loop-a", POLICY)
    upstream.redirect("/self", "/self")
    with pytest.raises(FetchError, match="redirects in a loop"):
        await fetch_answer(upstream.base + "/self", POLICY)


def test_a_new_version_is_made_from_the_newest() -> None:
    document = fixture_json("definition.json")
    document["patches"][0]["components"][0]["criteria"].append(
        {"name": "Application Version", "operator": "like", "value": "2.1.0%", "type": "recon"}
    )
    patch = from_newest(document, "2.2.0", release_date="2024-06-11T08:30:00Z", minimum_os="13.0")
    assert patch["version"] == patch["components"][0]["version"] == "2.2.0"
    values = [c["value"] for c in patch["components"][0]["criteria"]]
    assert "2.2.0" in values
    assert "2.2.0%" in values
    assert "2.1.0" not in values
    assert patch["releaseDate"] == "2024-06-11T08:30:00Z"
    assert patch["minimumOperatingSystem"] == "13.0"
    assert patch["capabilities"][0]["value"] == "13.0"
    assert patch["killApps"] == document["patches"][0]["killApps"]
    assert document["patches"][0]["version"] == "2.1.0"  # the template is not changed


@pytest.mark.parametrize("draft", [False, True])
async def test_a_version_source_adds_newer_versions_to_the_title(
    app: FastAPI, upstream: Upstream, draft: bool
) -> None:
    found = services(app)
    await found.titles.create(fixture_json("definition.json"), found_actor())
    url = upstream.serve("/releases", fixture_json("github_releases.json"))
    options = {"draft": True} if draft else {}
    row = await found.subscriptions.subscribe(
        NewSubscription(url, "Example", "github", options), WHO
    )
    preview = await found.subscriptions.check(row.pk, dry_run=True)
    assert preview.outcome == "version_added"
    assert preview.revision is None
    assert (await found.titles.get("Example")).revision == 1

    report = await found.subscriptions.check(row.pk)
    assert report.outcome == "version_added", report
    record = await found.titles.get("Example")
    assert record.title.patches[0].version == "2.2.0"
    assert record.title.patches[0].releaseDate == "2024-06-11T08:30:00Z"
    title_row = await found.titles.row("Example")
    assert ("2.2.0" in (title_row.state or "")) is draft  # a draft waits, disabled
    assert (await found.subscriptions.get(row.pk)).latest_version == "2.2.0"

    upstream.conditional = False  # even fetched in full, nothing newer: nothing written
    assert (await found.subscriptions.check(row.pk)).outcome == "up_to_date"
    assert (await found.titles.get("Example")).revision == 2


def found_actor() -> Any:
    from pomona.titles.values import Actor

    return Actor("token:test")
