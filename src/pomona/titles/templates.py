"""A new version made from a title's newest one: how admins build versions by hand ("all
other fields inherit from the last patch"). ``POST .../versions?from=newest`` does it on
request, and a version source (``pomona.subscriptions``) when it finds a newer version."""

from __future__ import annotations

import copy
from typing import Any

from pomona.db import utcnow
from pomona.times import format_time


def from_newest(
    document: dict[str, Any],
    version: str,
    *,
    release_date: str | None = None,
    minimum_os: str | None = None,
) -> dict[str, Any]:
    """A clone of the first (newest) patch of ``document`` as ``version``.

    Wherever the old version string stands in the patch (its components' ``version``, criteria
    values such as ``Application Version is 2.1.0``) the new one is put instead; the release
    date is the source's, else now; the minimum OS is the source's when it has one (and the
    capability that says it follows), else carried over.
    """
    newest = document["patches"][0]
    old = newest["version"]
    patch: dict[str, Any] = _substitute(copy.deepcopy(newest), old, version)
    patch["version"] = version
    patch["releaseDate"] = release_date or format_time(utcnow())
    if minimum_os:
        previous = patch.get("minimumOperatingSystem")
        patch["minimumOperatingSystem"] = minimum_os
        for criterion in patch.get("capabilities") or []:
            if (
                isinstance(criterion, dict)
                and criterion.get("name") == "Operating System Version"
                and criterion.get("value") == previous
            ):
                criterion["value"] = minimum_os
    return patch


def _substitute(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, old, new) for v in value]
    if isinstance(value, str) and old and value == old:
        return new
    escaped = old.replace(".", r"\.")
    if isinstance(value, str) and old and _is_pattern(value):
        # A 'like' or regex criterion naming the version (e.g. '2.1.0%' or '^2\.1\.0$').
        return value.replace(escaped, new.replace(".", r"\.")).replace(old, new)
    return value


def _is_pattern(value: str) -> bool:
    return any(mark in value for mark in ("%", "^", "$", "\\", "*"))


__all__ = ["from_newest"]
