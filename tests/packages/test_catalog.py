"""The catalog's edits, through the service: only what an edit sets changes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from pomona.audit.service import Who
from pomona.errors import Invalid, NotFound
from pomona.packages.values import PackageEdit
from tests.packages.conftest import payload

WHO = Who("token:t")


async def once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_an_edit_changes_only_what_it_sets(app: FastAPI) -> None:
    packages = app.state.services.packages
    await packages.uploads.receive("e.pkg", once(payload(100)), length=100, who=WHO)
    catalog = packages.catalog
    edited = await catalog.update("e.pkg", PackageEdit(notes="n", tags=["b", "a", "b"]), who=WHO)
    assert (edited.notes, edited.tags) == ("n", ["a", "b"])
    kept = await catalog.update("e.pkg", PackageEdit(tags=[]), who=WHO)
    assert (kept.notes, kept.tags) == ("n", [])
    cleared = await catalog.update("e.pkg", PackageEdit(notes=None), who=WHO)
    assert cleared.notes is None
    assert [e.kind for e in await catalog.events("e.pkg")] == ["uploaded"] + ["updated"] * 3
    await catalog.delete("e.pkg", who=WHO)
    with pytest.raises(NotFound) as gone:
        await catalog.get("e.pkg")
    assert gone.value.code == "package_not_found"


async def test_notes_with_control_characters_are_refused(app: FastAPI) -> None:
    packages = app.state.services.packages
    await packages.uploads.receive("n.pkg", once(payload(10)), length=10, who=WHO)
    with pytest.raises(Invalid) as refused:
        await packages.catalog.update("n.pkg", PackageEdit(notes="a\x00b", tags=["x"]), who=WHO)
    assert refused.value.code == "notes_invalid"
    assert refused.value.problems[0].message == "character 2 (U+0000) is a control character"
    unchanged = await packages.catalog.get("n.pkg")
    assert (unchanged.notes, unchanged.tags) == (None, [])
