"""What changed between two states of a title: a structured diff, readable lines, one summary.

A state is a Jamf document plus what Pomona keeps beside it (enabled, disabled versions). The
diff goes per field of the title, per version (added, removed, reordered, and per field of each
version kept) and per extension attribute. ``lastModified`` is left out: every write changes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from pomona.titles.models import TitleState

_TITLE_SKIP = frozenset({"patches", "extensionAttributes", "lastModified"})
_SUMMARY_MAX = 1024


@dataclass(slots=True)
class Diff:
    title: list[dict[str, Any]] = field(default_factory=list)
    versions_added: list[str] = field(default_factory=list)
    versions_removed: list[str] = field(default_factory=list)
    versions_changed: list[dict[str, Any]] = field(default_factory=list)
    order: dict[str, list[str]] | None = None
    eas_added: list[str] = field(default_factory=list)
    eas_removed: list[str] = field(default_factory=list)
    eas_changed: list[dict[str, Any]] = field(default_factory=list)
    state: list[dict[str, Any]] = field(default_factory=list)
    created: bool = False
    deleted: bool = False

    @property
    def ea_scripts_changed(self) -> list[str]:
        """EAs Jamf Pro will run only once an admin accepts them (again): new or new script."""
        changed = [
            c["key"] for c in self.eas_changed if any(f["field"] == "value" for f in c["fields"])
        ]
        return sorted(set(self.eas_added) | set(changed))

    def empty(self) -> bool:
        return not self.lines()

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "versions": {
                "added": self.versions_added,
                "removed": self.versions_removed,
                "changed": self.versions_changed,
                "order": self.order,
            },
            "extensionAttributes": {
                "added": self.eas_added,
                "removed": self.eas_removed,
                "changed": self.eas_changed,
            },
            "state": self.state,
            "extensionAttributesToAccept": self.ea_scripts_changed,
            "lines": self.lines(),
        }

    def lines(self) -> list[str]:
        out: list[str] = []
        if self.created:
            out.append("+ title created")
        if self.deleted:
            out.append("- title deleted")
        for change in self.title:
            out.append(f"~ {change['field']}: {_show(change['from'])} -> {_show(change['to'])}")
        out.extend(f"+ version {v}" for v in self.versions_added)
        out.extend(f"- version {v}" for v in self.versions_removed)
        for version in self.versions_changed:
            for change in version["fields"]:
                out.append(
                    f"~ version {version['version']} {change['field']}: "
                    f"{_show(change['from'])} -> {_show(change['to'])}"
                )
        if self.order is not None:
            out.append(f"~ version order: {', '.join(self.order['to'])}")
        out.extend(f"+ extension attribute {k}" for k in self.eas_added)
        out.extend(f"- extension attribute {k}" for k in self.eas_removed)
        for ea in self.eas_changed:
            for change in ea["fields"]:
                what = "script" if change["field"] == "value" else change["field"]
                out.append(f"~ extension attribute {ea['key']} {what} changed")
        for change in self.state:
            out.append(f"~ {change['field']}: {_show(change['from'])} -> {_show(change['to'])}")
        return out

    def summary(self) -> str:
        """One line: what changed, and whether Jamf Pro needs an EA accepted again."""
        parts: list[str] = []
        # currentVersion follows the versions, which the summary already describes.
        fields = [c["field"] for c in self.title if c["field"] != "currentVersion"]
        if fields:
            parts.append("changed " + ", ".join(fields))
        if self.versions_added:
            parts.append("added " + _versions(self.versions_added))
        if self.versions_removed:
            parts.append("removed " + _versions(self.versions_removed))
        if self.versions_changed:
            parts.append("edited " + _versions([c["version"] for c in self.versions_changed]))
        if self.order is not None:
            parts.append("reordered versions")
        if self.eas_removed:
            parts.append("removed extension attribute " + ", ".join(self.eas_removed))
        for change in self.state:
            if change["field"] == "enabled":
                parts.append("enabled the title" if change["to"] else "disabled the title")
            else:
                now_off = sorted(set(change["to"]) - set(change["from"]))
                now_on = sorted(set(change["from"]) - set(change["to"]))
                if now_off:
                    parts.append("disabled " + _versions(now_off))
                if now_on:
                    parts.append("enabled " + _versions(now_on))
        if self.ea_scripts_changed:
            parts.append(ea_notice(self.ea_scripts_changed))
        text = "; ".join(parts) or "no change"
        return text if len(text) <= _SUMMARY_MAX else text[: _SUMMARY_MAX - 1] + "…"


def ea_notice(keys: list[str]) -> str:
    names = ", ".join(f"'{k}'" for k in keys)
    return f"extension attribute {names} is new or has a new script: accept it again in Jamf Pro"


def diff(
    old: dict[str, Any] | None,
    old_state: TitleState,
    new: dict[str, Any] | None,
    new_state: TitleState,
) -> Diff:
    result = Diff(created=old is None and new is not None, deleted=new is None and old is not None)
    before, after = old or {}, new or {}
    for key in sorted((set(before) | set(after)) - _TITLE_SKIP):
        if before.get(key) != after.get(key) and (old is not None and new is not None):
            result.title.append({"field": key, "from": before.get(key), "to": after.get(key)})
    old_patches = {p["version"]: p for p in before.get("patches", [])}
    new_patches = {p["version"]: p for p in after.get("patches", [])}
    result.versions_added = [v for v in new_patches if v not in old_patches]
    result.versions_removed = [v for v in old_patches if v not in new_patches]
    for version, patch in new_patches.items():
        if version in old_patches and old_patches[version] != patch:
            result.versions_changed.append(
                {"version": version, "fields": _fields(old_patches[version], patch)}
            )
    kept_before = [v for v in old_patches if v in new_patches]
    kept_after = [v for v in new_patches if v in old_patches]
    if kept_before != kept_after:
        result.order = {"from": list(old_patches), "to": list(new_patches)}
    old_eas = {e["key"]: e for e in before.get("extensionAttributes", [])}
    new_eas = {e["key"]: e for e in after.get("extensionAttributes", [])}
    result.eas_added = [k for k in new_eas if k not in old_eas]
    result.eas_removed = [k for k in old_eas if k not in new_eas]
    for key, ea in new_eas.items():
        if key in old_eas and old_eas[key] != ea:
            result.eas_changed.append({"key": key, "fields": _fields(old_eas[key], ea)})
    if old is not None and new is not None:
        if old_state.enabled != new_state.enabled:
            result.state.append(
                {"field": "enabled", "from": old_state.enabled, "to": new_state.enabled}
            )
        if set(old_state.disabled_versions) != set(new_state.disabled_versions):
            result.state.append(
                {
                    "field": "disabledVersions",
                    "from": list(old_state.disabled_versions),
                    "to": list(new_state.disabled_versions),
                }
            )
    return result


def _fields(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"field": key, "from": old.get(key), "to": new.get(key)}
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


def _versions(versions: list[str]) -> str:
    shown = ", ".join(versions[:5]) + (
        f" and {len(versions) - 5} more" if len(versions) > 5 else ""
    )
    return f"version{'s' if len(versions) != 1 else ''} {shown}"


def _show(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 120 else text[:117] + "..."
