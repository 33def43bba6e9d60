"""Local overrides: each kind applied to an upstream document, and all of them surviving 100
syncs of an upstream that changes every time (in process, through the service, on SQLite)."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from fastapi import FastAPI

from pomona.audit.service import Who
from pomona.errors import Invalid
from pomona.subscriptions.overrides import Overrides, apply, load
from pomona.subscriptions.values import NewSubscription
from tests.subscriptions.conftest import Upstream, fixture_json
from tests.subscriptions.test_sync import newer, services

WHO = Who("token:test")
LOCAL = {
    **fixture_json("definition.json")["patches"][1],
    "version": "2.0.5-local",
}
REQUIREMENTS = [
    {"name": "Application Bundle ID", "operator": "is", "value": "com.example.app.local",
     "type": "recon", "and": True}
]  # fmt: skip
CRITERIA = [
    {"name": "Application Title", "operator": "is", "value": "Example Local.app",
     "type": "recon", "and": True}
]  # fmt: skip


def test_each_override_applies_and_upstream_is_untouched() -> None:
    upstream = newer(fixture_json("definition.json"), "2.2.0")
    kept = copy.deepcopy(upstream)
    overrides = load(
        {
            "currentVersion": "2.1.0",
            "hideVersions": ["1.9.7"],
            "addVersions": [LOCAL],
            "requirements": REQUIREMENTS,
            "criteria": {"2.0.1": CRITERIA},
            "extensionAttributes": [],
        }
    )
    applied = apply(upstream, overrides, "Local")
    document = applied.document
    assert upstream == kept
    assert document["id"] == "Local"
    assert [p["version"] for p in document["patches"]] == ["2.1.0", "2.0.5-local", "2.0.1"]
    assert document["requirements"] == REQUIREMENTS
    assert document["patches"][2]["components"][0]["criteria"] == CRITERIA
    assert document["extensionAttributes"] == []
    assert applied.notes == []


def test_overrides_that_no_longer_fit_are_notes() -> None:
    applied = apply(
        fixture_json("definition.json"),
        Overrides(current_version="9.9", hide_versions=["0.1"], criteria={"0.2": CRITERIA}),
        "Example",
    )
    assert len(applied.notes) == 3
    assert [p["version"] for p in applied.document["patches"]] == ["2.1.0", "2.0.1", "1.9.7"]


def test_malformed_overrides_list_every_problem() -> None:
    with pytest.raises(Invalid) as refused:
        load({"hideVersions": "2.0", "currentVersion": 3, "colour": "red"})
    assert {p.path for p in refused.value.problems} == {
        "/hideVersions",
        "/currentVersion",
        "/colour",
    }


def upstream_at(step: int, rng: random.Random) -> dict[str, Any]:
    """The upstream at ``step``: a new version each time (older new ones pruned), the oldest
    sometimes dropped, the requirement and the name changing."""
    document = fixture_json("definition.json")
    for n in range(max(0, step - 5), step):  # the five newest, as a feed that prunes
        document = newer(document, f"2.2.{n}")
    if rng.random() < 0.5 and len(document["patches"]) > 4:
        document["patches"].pop()
    document["name"] = f"Example {step}"
    document["requirements"][0]["value"] = f"com.example.app{step % 3}"
    return document


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_overrides_survive_100_syncs_of_a_changing_upstream(
    app: FastAPI, upstream: Upstream
) -> None:
    found = services(app)
    rng = random.Random(15)
    url = upstream.serve("/patch/Example", upstream_at(0, rng))
    row = await found.subscriptions.subscribe(NewSubscription(url), WHO)
    await found.subscriptions.check(row.pk)
    await found.subscriptions.set_overrides(
        row.pk,
        {
            "currentVersion": "2.1.0",
            "hideVersions": ["2.0.1"],
            "addVersions": [LOCAL],
            "requirements": REQUIREMENTS,
            "criteria": {"1.9.7": CRITERIA},
        },
        WHO,
    )
    for step in range(1, 101):
        upstream.serve("/patch/Example", upstream_at(step, rng))
        report = await found.subscriptions.check(row.pk)
        assert report.outcome in ("updated", "unchanged"), report
        served = (await found.titles.get("Example")).title
        versions = [p.version for p in served.patches]
        assert served.name == f"Example {step}"  # upstream flows through...
        assert served.currentVersion == "2.1.0"  # ...under the hold,
        assert "2.0.1" not in versions  # the hidden version,
        assert "2.0.5-local" in versions  # the local version,
        assert served.requirements[0].value == "com.example.app.local"  # the requirements
        if "1.9.7" in versions:  # and the criteria, while upstream still has that version
            assert served.patches[-1].components[0].criteria[0].value == "Example Local.app"
    layers = await found.subscriptions.served(row.pk)
    assert layers.upstream is not None
    assert layers.upstream["name"] == "Example 100"
    assert layers.diff is not None
    assert "2.0.5-local" in layers.diff["versions"]["added"]
    assert layers.overrides["currentVersion"] == "2.1.0"


async def test_overrides_that_would_make_the_title_invalid_are_refused(
    app: FastAPI, upstream: Upstream
) -> None:
    found = services(app)
    url = upstream.serve("/patch/Example", fixture_json("definition.json"))
    row = await found.subscriptions.subscribe(NewSubscription(url), WHO)
    await found.subscriptions.check(row.pk)
    with pytest.raises(Invalid):
        await found.subscriptions.set_overrides(
            row.pk, {"hideVersions": ["2.1.0", "2.0.1", "1.9.7"]}, WHO
        )
    assert (await found.subscriptions.get(row.pk)).overrides == "{}"
    assert (await found.titles.get("Example")).revision == 1
