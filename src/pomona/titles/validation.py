"""Check a patch definition beyond its shape and report every problem at once.

Real definitions are sloppy (see docs/definitions.md): a string ``"true"`` for a boolean, a
release date with a one-digit month, a ``lastModified`` that is not a date. Where the intent is
unambiguous the value is repaired and the repair reported as a *warning*; ``strict`` turns
warnings into errors. Everything else that is wrong is an *error* located by a JSON pointer.
What comes out is canonical: the same input always gives the same bytes on the feed.
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from pomona.characters import is_number
from pomona.errors import Invalid, Problem, pointer
from pomona.times import format_time, parse_time
from pomona.titles import version_strings
from pomona.titles.schemas import (
    CRITERION_TYPES,
    ID_PATTERN,
    OPERATORS,
    Component,
    ExtensionAttribute,
    KillApp,
    Patch,
    SoftwareTitle,
)

_TITLE_KEYS = frozenset(SoftwareTitle.model_fields)
_PATCH_KEYS = frozenset(Patch.model_fields)
_CRITERION_KEYS = frozenset({"name", "operator", "value", "type", "and"})
_COMPONENT_KEYS = frozenset(Component.model_fields)
_KILL_APP_KEYS = frozenset(KillApp.model_fields)
_EA_KEYS = frozenset(ExtensionAttribute.model_fields)
# Deeper than any real definition; the feed's JSON encoder stops at 255 levels.
MAX_DEPTH = 32


@dataclass
class Checked:
    """A valid, canonical definition and what was repaired on the way."""

    title: SoftwareTitle
    warnings: list[Problem] = field(default_factory=list)


@dataclass
class _Pass:
    """The state of one check: what was repaired and what is wrong."""

    warnings: list[Problem] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    # The code a repair's error has in strict mode, when it is more precise than ``invalid``.
    strict_codes: dict[Problem, str] = field(default_factory=dict)

    def warn(self, path: tuple[str | int, ...], message: str, strict_code: str = "") -> None:
        problem = Problem(pointer(path), message, code="repaired")
        self.warnings.append(problem)
        if strict_code:
            self.strict_codes[problem] = strict_code

    def error(self, path: tuple[str | int, ...], message: str, code: str | None = None) -> None:
        self.errors.append(Problem(pointer(path), message, code=code))

    def strict(self) -> list[Problem]:
        """The repairs as the errors strict mode makes of them."""
        return [
            Problem(w.path, f"strict mode: {w.message}", code=self.strict_codes.get(w))
            for w in self.warnings
        ]


def _dicts(
    value: Any, path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """The objects of a list, with their paths; anything else is left to the model to report."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield (*path, index), item


def _objects(
    value: Any, path: tuple[str | int, ...], key: str
) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """The objects of the list at ``value[key]`` when ``value`` is an object."""
    if isinstance(value, dict):
        yield from _dicts(value.get(key), (*path, key))


def _check_strings(value: Any, path: tuple[str | int, ...], check: _Pass, depth: int = 0) -> bool:
    """Report NUL characters (no database stores them in text) and absurd nesting.

    Returns False when the value is nested too deeply to be checked further.
    """
    if isinstance(value, str):
        if "\x00" in value:
            check.error(path, "contains a NUL character (\\u0000); remove it")
        return True
    if depth >= MAX_DEPTH and isinstance(value, dict | list) and value:
        check.error(path, f"is nested more than {MAX_DEPTH} levels deep; no definition needs that")
        return False
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                check.error((*path, key), "the key contains a NUL character (\\u0000); remove it")
            if not _check_strings(item, (*path, key), check, depth + 1):
                return False
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if not _check_strings(item, (*path, index), check, depth + 1):
                return False
    return True


def _drop_unknown(
    data: dict[str, Any], known: frozenset[str], path: tuple[str | int, ...], check: _Pass
) -> None:
    for key in sorted(set(data) - known):
        check.warn((*path, key), f"unknown key '{key}' was removed; Jamf Pro does not read it")
        del data[key]


def _json_bool(value: bool) -> str:
    return "true" if value else "false"


def _normalise_criterion(data: dict[str, Any], path: tuple[str | int, ...], check: _Pass) -> None:
    _drop_unknown(data, _CRITERION_KEYS, path, check)
    joiner = data.get("and")
    if isinstance(joiner, str) and joiner.strip().lower() in ("true", "false"):
        data["and"] = joiner.strip().lower() == "true"
        check.warn((*path, "and"), f'the string "{joiner}" was read as {_json_bool(data["and"])}')
    elif "and" not in data:
        data["and"] = True
    if data.get("type") not in (None, *CRITERION_TYPES) and isinstance(data.get("type"), str):
        check.error(
            (*path, "type"),
            f"'{data['type']}' is not a criterion type; use one of: {', '.join(CRITERION_TYPES)}",
        )
    operator = data.get("operator")
    if isinstance(operator, str) and operator not in OPERATORS:
        # A case or spacing slip has one meaning; anything else is for the author to fix.
        folded = " ".join(operator.lower().split())
        if folded in OPERATORS:
            data["operator"] = folded
            check.warn((*path, "operator"), f"operator '{operator}' was read as '{folded}'")
        else:
            check.error(
                (*path, "operator"),
                f"'{operator}' is not an operator Jamf Pro knows; use one of: "
                + ", ".join(OPERATORS),
            )


def _normalise_criteria(value: Any, path: tuple[str | int, ...], check: _Pass) -> None:
    for item_path, item in _dicts(value, path):
        _normalise_criterion(item, item_path, check)


def _normalise_date(
    data: dict[str, Any], key: str, path: tuple[str | int, ...], check: _Pass
) -> None:
    value = data.get(key)
    if not isinstance(value, str):
        return  # missing or the wrong type: the model reports it
    parsed = parse_time(value)
    if parsed is None:
        check.error(
            (*path, key), f"'{value}' is not a date; use ISO-8601 such as 2024-05-01T12:00:00Z"
        )
        return
    moment, repaired = parsed
    data[key] = format_time(moment)
    if repaired:
        check.warn((*path, key), f"'{value}' was read as {data[key]}")


def _normalise_version(data: dict[str, Any], path: tuple[str | int, ...], check: _Pass) -> None:
    """A version names a URL and is served as currentVersion: one rule, ``version_strings``."""
    version = data.get("version")
    if not isinstance(version, str):
        return  # missing or the wrong type: the model reports it
    stripped = version.strip()
    if stripped and stripped != version:
        data["version"] = stripped
        check.warn(
            (*path, "version"),
            f"{version_strings.surrounding_whitespace(version)}, which was removed",
            strict_code=version_strings.CODE,
        )
    problem = version_strings.refusal(stripped or version)
    if problem is not None:
        # It names the character and its place: it replaces the NUL check's report, if any.
        where = pointer((*path, "version"))
        check.errors = [e for e in check.errors if e.path != where]
        check.error((*path, "version"), problem, code=version_strings.CODE)


def _normalise_patch(data: dict[str, Any], path: tuple[str | int, ...], check: _Pass) -> None:
    _drop_unknown(data, _PATCH_KEYS, path, check)
    _normalise_version(data, path, check)
    _normalise_date(data, "releaseDate", path, check)
    for key in ("standalone", "reboot"):
        if isinstance(data.get(key), str) and data[key].strip().lower() in ("true", "false"):
            original = data[key]
            data[key] = original.strip().lower() == "true"
            check.warn((*path, key), f'the string "{original}" was read as {_json_bool(data[key])}')
    data.setdefault("dependencies", [])
    if data.get("dependencies") is None:
        data["dependencies"] = []
    _no_nulls_inside(data["dependencies"], (*path, "dependencies"), check)
    for kill_path, kill_app in _dicts(data.get("killApps"), (*path, "killApps")):
        _drop_unknown(kill_app, _KILL_APP_KEYS, kill_path, check)
    for component_path, component in _dicts(data.get("components"), (*path, "components")):
        _drop_unknown(component, _COMPONENT_KEYS, component_path, check)
        _normalise_criteria(component.get("criteria"), (*component_path, "criteria"), check)
    _normalise_criteria(data.get("capabilities"), (*path, "capabilities"), check)


def _no_nulls_inside(value: Any, path: tuple[str | int, ...], check: _Pass) -> None:
    """Free-form values are served as given, so they must not hide a null either."""
    if isinstance(value, dict):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, item in items:
        if item is None:
            check.error((*path, key), "must not be null; Jamf Pro rejects null here")
        else:
            _no_nulls_inside(item, (*path, key), check)


def _check_references(data: dict[str, Any], check: _Pass) -> None:
    """Rules that span objects: unique versions and EA keys, EA criteria naming a real EA."""
    ea_keys: dict[str, int] = {}
    for ea_path, ea in _dicts(data.get("extensionAttributes"), ("extensionAttributes",)):
        _drop_unknown(ea, _EA_KEYS, ea_path, check)
        key, value = ea.get("key"), ea.get("value")
        if isinstance(key, str):
            if key in ea_keys:
                check.error(
                    (*ea_path, "key"),
                    f"EA key '{key}' is already used by /extensionAttributes/{ea_keys[key]}",
                )
            else:
                ea_keys[key] = int(ea_path[-1])
        if isinstance(value, str):
            try:
                script = base64.b64decode(value.encode("ascii"), validate=True)
                script.decode("utf-8")
                if base64.b64encode(script).decode("ascii") != value:
                    raise ValueError("not canonical: stray padding or trailing bits")
            except (binascii.Error, ValueError):
                check.error(
                    (*ea_path, "value"),
                    "must be the base64 encoding of the EA's script (UTF-8 text), such as the "
                    "output of `base64 -i script.sh`",
                )
    versions: dict[str, int] = {}
    for patch_path, patch in _dicts(data.get("patches"), ("patches",)):
        version = patch.get("version")
        if isinstance(version, str):
            if version in versions:
                check.error(
                    (*patch_path, "version"),
                    f"version '{version}' is already /patches/{versions[version]}",
                )
            else:
                versions[version] = int(patch_path[-1])
    eas = data.get("extensionAttributes")
    if not isinstance(eas, list) or any(
        not isinstance(ea, dict) or not isinstance(ea.get("key"), str) for ea in eas
    ):
        return  # the model reports the broken list or key; naming every criterion is noise
    for criterion_path, criterion in _all_criteria(data):
        if criterion.get("type") == "extensionAttribute":
            name = criterion.get("name")
            if isinstance(name, str) and name not in ea_keys:
                known = ", ".join(sorted(ea_keys)) or "none are defined"
                check.error(
                    (*criterion_path, "name"),
                    f"no extension attribute with key '{name}' in /extensionAttributes ({known})",
                )


def _all_criteria(data: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    yield from _dicts(data.get("requirements"), ("requirements",))
    for patch_path, patch in _dicts(data.get("patches"), ("patches",)):
        for component_path, component in _dicts(
            patch.get("components"), (*patch_path, "components")
        ):
            yield from _dicts(component.get("criteria"), (*component_path, "criteria"))
        yield from _dicts(patch.get("capabilities"), (*patch_path, "capabilities"))


_TYPE_MESSAGES = {
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "list_type": "must be an array",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "string_too_short": "must not be empty",
    "extra_forbidden": "is not part of the Jamf definition format; remove it",
}


def _model_problems(error: ValidationError, reported: set[str]) -> list[Problem]:
    """The model's errors in the API's words; paths already reported by a rule are skipped."""
    problems = []
    for item in error.errors():
        loc = tuple("and" if part == "and_" else part for part in item["loc"])
        path = pointer(loc)
        if path in reported:
            continue  # e.g. an unknown operator, already reported with the allowed values
        kind = item["type"]
        context = item.get("ctx") or {}
        if kind == "missing":
            message = "is required"
        elif item.get("input", ...) is None:
            message = "must not be null; Jamf Pro rejects null here"
        elif kind == "too_short" and isinstance(item.get("input"), list):
            message = "must have at least one entry"
        elif kind == "string_pattern_mismatch" and context.get("pattern") == ID_PATTERN:
            message = (
                "use only letters, digits, '.', '_' and '-' (1 to 255 characters); "
                "Jamf Pro rejects spaces and other characters here"
            )
        elif kind == "string_too_long":
            message = f"must be at most {context.get('max_length')} characters long"
        elif kind == "literal_error":
            message = f"must be {context.get('expected', 'one of the allowed values')}"
        else:
            message = _TYPE_MESSAGES.get(kind) or item["msg"][0].lower() + item["msg"][1:]
        problems.append(Problem(path, message))
    return problems


def check_definition(
    raw: Any,
    *,
    now: datetime,
    strict: bool = False,
    current_version: Callable[[SoftwareTitle], str] | None = None,
) -> Checked:
    """Validate and normalise a full definition, or raise ``Invalid`` with every problem.

    ``lastModified`` becomes ``now`` and ``currentVersion`` the newest version (or what
    ``current_version`` picks): both belong to the server.
    """
    check = _Pass()
    if not isinstance(raw, dict):
        raise Invalid("a definition must be a JSON object")
    data = dict(raw)
    _drop_unknown(data, _TITLE_KEYS, (), check)
    if not _check_strings(data, (), check):
        raise Invalid(_sorted(check.errors))
    data = copy.deepcopy(data)  # repairs must never reach the caller's document
    last_modified = data.get("lastModified", ...)
    if not isinstance(last_modified, str) or parse_time(last_modified) is None:
        if last_modified is ...:
            shown = "is missing"
        elif last_modified is None:
            shown = "null was replaced"
        else:
            shown = f"'{last_modified}' is not a date and was replaced"
        check.warn(("lastModified",), f"{shown}; the server sets lastModified on every change")
    data["lastModified"] = format_time(now)
    data.setdefault("extensionAttributes", [])
    _normalise_criteria(data.get("requirements"), ("requirements",), check)
    for patch_path, patch in _dicts(data.get("patches"), ("patches",)):
        _normalise_patch(patch, patch_path, check)
    _check_references(data, check)

    given_current = data.get("currentVersion", ...)
    patches = data.get("patches")
    newest = (
        patches[0].get("version")
        if isinstance(patches, list) and patches and isinstance(patches[0], dict)
        else None
    )
    data["currentVersion"] = newest if isinstance(newest, str) else ""

    title: SoftwareTitle | None = None
    try:
        title = SoftwareTitle.model_validate(data)
    except ValidationError as exc:
        check.errors.extend(_model_problems(exc, {e.path for e in check.errors}))
    if check.errors or title is None:
        # In strict mode the repairs are errors too: list them with the rest, all at once.
        repairs = check.strict() if strict else []
        raise Invalid(_sorted(check.errors + repairs) or "the definition is invalid")

    chosen = current_version(title) if current_version else title.patches[0].version
    if given_current is not ... and given_current != chosen:
        shown = "null" if given_current is None else f"'{given_current}'"
        check.warn(
            ("currentVersion",),
            f"{shown} was replaced by '{chosen}', the newest version (the first of /patches)",
        )
    if chosen != title.currentVersion:
        title = title.model_copy(update={"currentVersion": chosen})
    if strict and check.warnings:
        raise Invalid(_sorted(check.strict()))
    return Checked(title, _sorted(check.warnings))


def _sorted(problems: list[Problem]) -> list[Problem]:
    """Order problems as they appear in the document, so the list reads top to bottom."""

    def key(problem: Problem) -> list[tuple[int, int | str]]:
        return [(0, int(p)) if is_number(p) else (1, p) for p in problem.path.split("/")[1:]]

    seen: set[Problem] = set()
    unique = [p for p in problems if not (p in seen or seen.add(p))]  # type: ignore[func-returns-value]
    return sorted(unique, key=key)
