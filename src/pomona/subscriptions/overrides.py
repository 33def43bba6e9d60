"""Local overrides laid over an upstream definition, re-applied after every sync.

The upstream document is never edited: what Jamf Pro is served is always
``apply(upstream, overrides)``, so a change upstream flows through and an override stays. An
override that no longer fits the upstream (a held or hidden version upstream dropped) is
reported as a note, never an error: the rest still applies.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pomona.errors import Invalid, Problem
from pomona.titles.ordering import version_key


class Overrides(BaseModel):
    """What a subscribed title keeps of its own. Every field is optional; null or absent means
    "as upstream"."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    current_version: str | None = Field(
        None,
        alias="currentVersion",
        max_length=255,
        description="Hold the title at this version: newer upstream versions are left out "
        "until the hold is lifted",
    )
    hide_versions: list[str] = Field(
        default_factory=list,
        alias="hideVersions",
        max_length=1000,
        description="Upstream versions never served",
    )
    add_versions: list[dict[str, Any]] = Field(
        default_factory=list,
        alias="addVersions",
        max_length=1000,
        description="Local versions (Jamf patch objects), placed among upstream's by version",
    )
    requirements: list[dict[str, Any]] | None = Field(
        None, description="Replace the title's requirements", max_length=1000
    )
    extension_attributes: list[dict[str, Any]] | None = Field(
        None,
        alias="extensionAttributes",
        max_length=100,
        description="Replace the title's extension attributes",
    )
    criteria: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict,
        description="Per version: replace the criteria of its (first) component",
    )

    def empty(self) -> bool:
        return self == Overrides()

    def dump(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_defaults=True)


def load(data: Any) -> Overrides:
    """Overrides from a request body or a stored row, or ``Invalid`` naming every problem."""
    from pydantic import ValidationError

    try:
        return Overrides.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise Invalid(
            [
                Problem(
                    "/" + "/".join(str(p) for p in error["loc"]),
                    error["msg"],
                    code="override_invalid",
                )
                for error in exc.errors()
            ],
            code="override_invalid",
        ) from None


@dataclass(slots=True)
class Applied:
    document: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def apply(upstream: dict[str, Any], overrides: Overrides, title_id: str) -> Applied:
    """The document to serve: ``upstream`` (not changed) under ``overrides``, as ``title_id``."""
    document = copy.deepcopy(upstream)
    document["id"] = title_id
    document.pop("currentVersion", None)  # the server sets it from the first version
    notes: list[str] = []
    patches = [p for p in document.get("patches") or [] if isinstance(p, dict)]
    versions = [p.get("version") for p in patches]
    for hidden in overrides.hide_versions:
        if hidden not in versions:
            notes.append(f"hidden version '{hidden}' is not upstream")
    patches = [p for p in patches if p.get("version") not in overrides.hide_versions]
    for local in overrides.add_versions:
        local_version = local.get("version")
        if any(p.get("version") == local_version for p in patches):
            notes.append(f"local version '{local_version}' replaces upstream's")
            patches = [p for p in patches if p.get("version") != local_version]
        patches.insert(_place(patches, local_version), copy.deepcopy(local))
    held = overrides.current_version
    if held is not None:
        at = next((i for i, p in enumerate(patches) if p.get("version") == held), None)
        if at is None:
            notes.append(f"held version '{held}' is not upstream; the hold waits for it")
        else:
            patches = patches[at:]
    for version, criteria in overrides.criteria.items():
        patch = next((p for p in patches if p.get("version") == version), None)
        components = patch.get("components") if patch else None
        if not components or not isinstance(components[0], dict):
            notes.append(f"criteria for version '{version}': no such version is served")
            continue
        components[0]["criteria"] = copy.deepcopy(criteria)
    document["patches"] = patches
    if overrides.requirements is not None:
        document["requirements"] = copy.deepcopy(overrides.requirements)
    if overrides.extension_attributes is not None:
        document["extensionAttributes"] = copy.deepcopy(overrides.extension_attributes)
    return Applied(document, notes)


def _place(patches: list[dict[str, Any]], version: Any) -> int:
    """Where a local version goes in a newest-first list: before the first older one."""
    if not isinstance(version, str):
        return 0
    key = version_key(version)
    for i, patch in enumerate(patches):
        other = patch.get("version")
        if isinstance(other, str) and version_key(other) < key:
            return i
    return len(patches)


__all__ = ["Applied", "Overrides", "apply", "load"]
