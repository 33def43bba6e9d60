"""``check_definition`` without a database: every rule, every repair, located by JSON pointer."""

from __future__ import annotations

import base64
import copy
import json
import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pomona.errors import Invalid, Problem
from pomona.titles.schemas import OPERATORS, SoftwareTitle
from pomona.titles.validation import Checked, check_definition
from tests.conftest import fixture_text

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)
CANONICAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
NULL_MESSAGE = "must not be null; Jamf Pro rejects null here"
ID_MESSAGE = (
    "use only letters, digits, '.', '_' and '-' (1 to 255 characters); "
    "Jamf Pro rejects spaces and other characters here"
)
# The example's first version: its first criterion is recon, its second names the title's EA.
CRITERION = "/patches/0/components/0/criteria/0"
EA_CRITERIA = [f"/patches/{i}/components/0/criteria/1/name" for i in range(3)]


# -- helpers ------------------------------------------------------------------------------------


def example() -> dict[str, Any]:
    """A fresh copy of tests/fixtures/example.json: canonical and valid."""
    document: dict[str, Any] = json.loads(fixture_text("example.json"))
    return document


def _parts(path: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in path.split("/")[1:]]


def set_at(document: Any, path: str, value: Any) -> Any:
    """Set the value at a JSON pointer (no escapes needed in these tests); returns the document."""
    *parents, last = _parts(path)
    target = document
    for part in parents:
        target = target[part]
    target[last] = value
    return document


def delete_at(document: Any, path: str) -> Any:
    *parents, last = _parts(path)
    target = document
    for part in parents:
        target = target[part]
    del target[last]
    return document


def check(document: Any, *, strict: bool = False) -> Checked:
    return check_definition(document, now=NOW, strict=strict)


def errors(document: Any, *, strict: bool = False) -> list[Problem]:
    with pytest.raises(Invalid) as caught:
        check(document, strict=strict)
    assert caught.value.kind == "invalid"
    assert caught.value.problems, "Invalid must list at least one problem"
    return caught.value.problems


def outcome(document: Any, *, strict: bool = False) -> Checked | Invalid:
    """The checked title, or the ``Invalid`` raised: for properties that allow either."""
    try:
        return check(document, strict=strict)
    except Invalid as exc:
        return exc


def error_paths(document: Any, *, strict: bool = False) -> list[str]:
    return [p.path for p in errors(document, strict=strict)]


def warning_paths(checked: Checked) -> list[str]:
    return [w.path for w in checked.warnings]


def with_value(path: str, value: Any) -> dict[str, Any]:
    document = example()
    set_at(document, path, value)
    return document


def jamf(checked: Checked) -> dict[str, Any]:
    """The title as the feed serves it."""
    return checked.title.to_jamf()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (pointer, value) in a JSON document, the document itself first."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}/{index}")


def assert_canonical(title: SoftwareTitle) -> None:
    """What the feed will serve: canonical dates, ``and`` everywhere, no stray null."""
    document: dict[str, Any] = title.to_jamf()
    for path, value in walk(document):
        if value is None:
            assert path in ("/appName", "/bundleId"), f"null at {path}"
        if path == "/lastModified" or path.endswith("/releaseDate"):
            assert CANONICAL_TIME.match(value), f"{path} = {value!r}"
        if re.search(r"/(requirements|criteria|capabilities)/\d+$", path):
            assert isinstance(value["and"], bool), f"{path} has no boolean 'and'"
    assert document["currentVersion"] == document["patches"][0]["version"]


# -- the canonical example ---------------------------------------------------------------------


def test_canonical_input_gives_no_warnings_and_comes_out_unchanged() -> None:
    original = example()
    checked = check(copy.deepcopy(original))

    assert checked.warnings == []
    served = jamf(checked)
    # The server owns lastModified; everything else is exactly what was sent, plus the default
    # ``and`` the example leaves out of its extension attribute criteria.
    assert served["lastModified"] == "2024-06-01T12:00:00Z"
    for path, value in walk(original):
        if path != "/lastModified" and not isinstance(value, dict | list):
            assert served == set_at(copy.deepcopy(served), path, value), path
    assert served["patches"][0]["components"][0]["criteria"][1]["and"] is True
    assert_canonical(checked.title)


def test_canonical_input_passes_strict_mode() -> None:
    assert check(example(), strict=True).warnings == []


def test_the_input_document_is_not_modified() -> None:
    original = example()
    set_at(original, "/patches/0/releaseDate", "2017-9-12T14:19:38.270Z")
    set_at(original, f"{CRITERION}/and", "true")
    original["junk"] = 1
    before = copy.deepcopy(original)

    check(original)

    assert original == before


def test_output_is_stable_when_checked_again() -> None:
    sloppy = example()
    set_at(sloppy, "/patches/1/releaseDate", "2016-07-28T09:50.385Z")
    set_at(sloppy, f"{CRITERION}/and", "false")
    set_at(sloppy, "/currentVersion", "0.1")
    first = check(sloppy)
    assert first.warnings

    second = check(first.title.to_jamf(), strict=True)

    assert second.warnings == []
    assert second.title == first.title


# -- ids ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title_id", ["a", "Z", "0", "GoogleChrome", "com.example.app", "my_app-2.0", "x" * 255, "..."]
)
def test_ids_jamf_accepts(title_id: str) -> None:
    assert check(with_value("/id", title_id)).title.id == title_id


@pytest.mark.parametrize(
    "title_id",
    [
        "",
        "Google Chrome",
        " Chrome",
        "Chrome ",
        "a/b",
        "a\\b",
        "a:b",
        "a,b",
        "a+b",
        "Café",
        "日本",
        "a\nb",
        "a\tb",
        "x" * 256,
    ],
)
def test_ids_jamf_rejects(title_id: str) -> None:
    assert [(p.path, p.message) for p in errors(with_value("/id", title_id))] == [
        ("/id", ID_MESSAGE)
    ]


@pytest.mark.parametrize("key", ["has space", "a/b", "é", "x" * 256])
def test_extension_attribute_keys_follow_the_id_rule(key: str) -> None:
    document = example()
    set_at(document, "/extensionAttributes/0/key", key)
    for path in EA_CRITERIA:
        set_at(document, path, key)

    assert [(p.path, p.message) for p in errors(document)] == [
        ("/extensionAttributes/0/key", ID_MESSAGE)
    ]


@pytest.mark.parametrize("value", [1, 1.5, True, [], {}])
def test_id_must_be_a_string(value: Any) -> None:
    assert [(p.path, p.message) for p in errors(with_value("/id", value))] == [
        ("/id", "must be a string")
    ]


# -- nulls -------------------------------------------------------------------------------------

NOT_NULLABLE = [
    "/id",
    "/name",
    "/publisher",
    "/requirements",
    "/requirements/0",
    "/requirements/0/name",
    "/requirements/0/operator",
    "/requirements/0/value",
    "/requirements/0/type",
    "/requirements/0/and",
    "/patches",
    "/patches/1",
    "/patches/0/version",
    "/patches/0/releaseDate",
    "/patches/0/standalone",
    "/patches/0/minimumOperatingSystem",
    "/patches/0/reboot",
    "/patches/0/killApps",
    "/patches/0/killApps/0",
    "/patches/0/killApps/0/bundleId",
    "/patches/0/killApps/0/appName",
    "/patches/0/components",
    "/patches/0/components/0",
    "/patches/0/components/0/name",
    "/patches/0/components/0/version",
    "/patches/0/components/0/criteria",
    f"{CRITERION}/name",
    f"{CRITERION}/operator",
    f"{CRITERION}/value",
    f"{CRITERION}/type",
    f"{CRITERION}/and",
    "/patches/0/capabilities",
    "/patches/0/capabilities/0/value",
    "/extensionAttributes",
    "/extensionAttributes/0",
    "/extensionAttributes/0/key",
    "/extensionAttributes/0/value",
    "/extensionAttributes/0/displayName",
]


@pytest.mark.parametrize("path", NOT_NULLABLE)
def test_null_is_rejected_where_jamf_needs_a_value(path: str) -> None:
    assert [(p.path, p.message) for p in errors(with_value(path, None))] == [(path, NULL_MESSAGE)]


def test_app_name_and_bundle_id_may_be_null_or_absent() -> None:
    nulls = check(set_at(with_value("/appName", None), "/bundleId", None))
    absent = check(delete_at(delete_at(example(), "/appName"), "/bundleId"))

    for checked in (nulls, absent):
        assert checked.warnings == []
        served = jamf(checked)
        assert (served["appName"], served["bundleId"]) == (None, None)


def test_app_name_and_bundle_id_may_be_empty_strings() -> None:
    checked = check(set_at(with_value("/appName", ""), "/bundleId", ""))
    assert (checked.title.appName, checked.title.bundleId) == ("", "")


@pytest.mark.parametrize("dependencies", [None, "absent"])
def test_missing_or_null_dependencies_become_an_empty_list(dependencies: Any) -> None:
    document = example()
    if dependencies == "absent":
        delete_at(document, "/patches/0/dependencies")
    else:
        set_at(document, "/patches/0/dependencies", dependencies)

    checked = check(document)

    assert checked.warnings == []
    assert jamf(checked)["patches"][0]["dependencies"] == []


# -- uniqueness and references ---------------------------------------------------------------------


def test_versions_are_unique() -> None:
    document = with_value("/patches/2/version", "2.1.0")
    assert [(p.path, p.message) for p in errors(document)] == [
        ("/patches/2/version", "version '2.1.0' is already /patches/0")
    ]


def test_extension_attribute_keys_are_unique() -> None:
    document = example()
    document["extensionAttributes"].append(
        {"key": "example-version", "value": b64("echo"), "displayName": "Twice"}
    )
    assert [(p.path, p.message) for p in errors(document)] == [
        (
            "/extensionAttributes/1/key",
            "EA key 'example-version' is already used by /extensionAttributes/0",
        )
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/requirements/0",
        "/patches/1/components/0/criteria/0",
        "/patches/2/capabilities/0",
    ],
)
def test_extension_attribute_criteria_name_an_ea_of_the_title(path: str) -> None:
    document = example()
    set_at(document, f"{path}/type", "extensionAttribute")
    set_at(document, f"{path}/name", "other-ea")

    assert [(p.path, p.message) for p in errors(document)] == [
        (
            f"{path}/name",
            "no extension attribute with key 'other-ea' in /extensionAttributes (example-version)",
        )
    ]


def test_extension_attribute_criteria_without_any_ea() -> None:
    document = with_value("/extensionAttributes", [])
    problems = errors(document)
    assert [p.path for p in problems] == EA_CRITERIA
    assert "(none are defined)" in problems[0].message


def test_ea_key_names_used_by_recon_criteria_need_no_ea() -> None:
    document = with_value(f"{CRITERION}/name", "not-an-ea")
    assert check(document).warnings == []


def test_a_broken_ea_list_is_reported_once_not_at_every_criterion() -> None:
    assert error_paths(with_value("/extensionAttributes", "none")) == ["/extensionAttributes"]
    assert error_paths(with_value("/extensionAttributes/0/key", 5)) == [
        "/extensionAttributes/0/key"
    ]


# -- criterion type and operator -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["Recon", "ea", "EXTENSIONATTRIBUTE", "", "application"])
def test_criterion_type_is_recon_or_extension_attribute(kind: str) -> None:
    assert [(p.path, p.message) for p in errors(with_value(f"{CRITERION}/type", kind))] == [
        (
            f"{CRITERION}/type",
            f"'{kind}' is not a criterion type; use one of: recon, extensionAttribute",
        )
    ]


@pytest.mark.parametrize("kind", [1, True, [], {}])
def test_criterion_type_of_the_wrong_json_type(kind: Any) -> None:
    assert [(p.path, p.message) for p in errors(with_value(f"{CRITERION}/type", kind))] == [
        (f"{CRITERION}/type", "must be 'recon' or 'extensionAttribute'")
    ]


@pytest.mark.parametrize("operator", OPERATORS)
def test_every_known_operator_is_accepted(operator: str) -> None:
    checked = check(with_value(f"{CRITERION}/operator", operator))
    assert checked.warnings == []
    assert checked.title.patches[0].components[0].criteria[0].operator == operator


@pytest.mark.parametrize("operator", ["equals", "==", "contains", "isnot", "", "regex"])
def test_unknown_operators_are_rejected_with_the_list(operator: str) -> None:
    problems = errors(with_value(f"{CRITERION}/operator", operator))
    assert [p.path for p in problems] == [f"{CRITERION}/operator"]
    assert problems[0].message.startswith(f"'{operator}' is not an operator Jamf Pro knows")
    assert problems[0].message.endswith(", ".join(OPERATORS))


@pytest.mark.parametrize(
    ("given", "read"),
    [("IS", "is"), ("Is  Not", "is not"), (" greater than ", "greater than"), ("LIKE", "like")],
)
def test_operator_case_and_spacing_slips_are_repaired(given: str, read: str) -> None:
    checked = check(with_value(f"{CRITERION}/operator", given))
    assert checked.title.patches[0].components[0].criteria[0].operator == read
    assert [(w.path, w.message) for w in checked.warnings] == [
        (f"{CRITERION}/operator", f"operator '{given}' was read as '{read}'")
    ]


def test_operator_of_the_wrong_json_type() -> None:
    problems = errors(with_value(f"{CRITERION}/operator", 3))
    assert [p.path for p in problems] == [f"{CRITERION}/operator"]
    assert problems[0].message.startswith("must be 'is', 'is not'")


# -- extension attribute scripts ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "not base64!",
        "abc",  # bad padding
        "YWJj\nZGVm",  # a line break
        "//79",  # decodes to bytes that are not UTF-8
        "é",
        "IyEvYmluL3No===",
    ],
)
def test_ea_value_must_be_base64_of_utf8_text(value: str) -> None:
    problems = errors(with_value("/extensionAttributes/0/value", value))
    assert [p.path for p in problems] == ["/extensionAttributes/0/value"]
    assert "base64" in problems[0].message
    assert "UTF-8" in problems[0].message


@pytest.mark.parametrize(
    "script", ["#!/bin/sh\necho '<result>ok</result>'\n", "echo '<result>Größe 日本</result>'", ""]
)
def test_ea_value_base64_of_any_utf8_text_is_accepted(script: str) -> None:
    checked = check(with_value("/extensionAttributes/0/value", b64(script)))
    assert base64.b64decode(checked.title.extensionAttributes[0].value).decode() == script


# -- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "",
        "2016-02-30T00:00:00Z",
        "2016-13-01T00:00:00Z",
        "2016-07-28T25:00:00Z",
        "2016-07-28T12:61:00Z",
        "28/07/2016",
        "July 28, 2016",
        "1469700000",
        "2016-07-28T12:00:00+25:00",
        "0001-01-01T00:00:00+01:00",  # before the first representable moment once in UTC
        "9999-12-31T23:59:59-01:00",  # after the last one
    ],
)
def test_release_date_must_be_a_date(value: str) -> None:
    assert [(p.path, p.message) for p in errors(with_value("/patches/1/releaseDate", value))] == [
        (
            "/patches/1/releaseDate",
            f"'{value}' is not a date; use ISO-8601 such as 2024-05-01T12:00:00Z",
        )
    ]


@pytest.mark.parametrize(
    ("given", "served", "warned"),
    [
        ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z", False),
        ("2024-05-01T12:00:00.123Z", "2024-05-01T12:00:00Z", False),  # RFC 3339, only truncated
        ("2024-05-01T12:00:00+00:00", "2024-05-01T12:00:00Z", False),
        ("0999-01-02T03:04:05Z", "0999-01-02T03:04:05Z", False),  # four-digit year kept
        ("2017-9-12T14:19:38.270Z", "2017-09-12T14:19:38Z", True),
        ("2017-7-20T16:54:29.814Z", "2017-07-20T16:54:29Z", True),
        ("2016-07-28T09:50.385Z", "2016-07-28T09:50:00Z", True),
        ("2024-05-01T12:00:00", "2024-05-01T12:00:00Z", True),  # naive: read as UTC
        ("2024-05-01 12:00:00", "2024-05-01T12:00:00Z", True),
        ("2024-05-01T12:00", "2024-05-01T12:00:00Z", True),
        ("2024-05-01", "2024-05-01T00:00:00Z", True),
        ("2024-5-1", "2024-05-01T00:00:00Z", True),
        ("2024-05-01T14:00:00+02:00", "2024-05-01T12:00:00Z", True),
        ("2024-05-01T08:00:00-04:00", "2024-05-01T12:00:00Z", True),
        ("2024-04-30T23:30:00-01:00", "2024-05-01T00:30:00Z", True),  # the date moves too
        ("2024-05-01T17:30:00+0530", "2024-05-01T12:00:00Z", True),
        (" 2024-05-01T12:00:00Z ", "2024-05-01T12:00:00Z", True),
    ],
)
def test_release_dates_are_served_canonical(given: str, served: str, warned: bool) -> None:
    checked = check(with_value("/patches/2/releaseDate", given))

    assert checked.title.patches[2].releaseDate == served
    expected = [("/patches/2/releaseDate", f"'{given}' was read as {served}")] if warned else []
    assert [(w.path, w.message) for w in checked.warnings] == expected


# -- lastModified and currentVersion belong to the server -----------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("bogus", "'bogus' is not a date and was replaced"),
        ("", "'' is not a date and was replaced"),
        (20240501, "'20240501' is not a date and was replaced"),
        (None, "null was replaced"),
        (..., "is missing"),
    ],
)
def test_bogus_or_missing_last_modified_is_replaced(value: Any, message: str) -> None:
    document = example()
    if value is ...:
        del document["lastModified"]
    else:
        document["lastModified"] = value

    checked = check(document)

    assert checked.title.lastModified == "2024-06-01T12:00:00Z"
    assert [(w.path, w.message) for w in checked.warnings] == [
        ("/lastModified", f"{message}; the server sets lastModified on every change")
    ]


@pytest.mark.parametrize("value", ["2001-01-01T00:00:00Z", "2030-01-01T00:00:00Z", "2017-9-1"])
def test_a_valid_last_modified_is_replaced_quietly(value: str) -> None:
    checked = check(with_value("/lastModified", value))
    assert checked.title.lastModified == "2024-06-01T12:00:00Z"
    assert checked.warnings == []


@pytest.mark.parametrize(
    ("value", "shown"), [("1.9.7", "'1.9.7'"), ("", "''"), (None, "null"), (2, "'2'")]
)
def test_wrong_current_version_is_replaced_by_the_newest(value: Any, shown: str) -> None:
    checked = check(with_value("/currentVersion", value))

    assert checked.title.currentVersion == "2.1.0"
    assert [(w.path, w.message) for w in checked.warnings] == [
        (
            "/currentVersion",
            f"{shown} was replaced by '2.1.0', the newest version (the first of /patches)",
        )
    ]


def test_missing_current_version_is_set_quietly() -> None:
    checked = check(delete_at(example(), "/currentVersion"))
    assert checked.title.currentVersion == "2.1.0"
    assert checked.warnings == []


def test_current_version_follows_the_order_of_patches() -> None:
    document = example()
    document["patches"].reverse()
    checked = check(document)
    assert checked.title.currentVersion == "1.9.7"
    assert warning_paths(checked) == ["/currentVersion"]


def test_a_caller_may_pick_the_current_version() -> None:
    checked = check_definition(example(), now=NOW, current_version=lambda t: t.patches[1].version)
    assert checked.title.currentVersion == "2.0.1"
    assert warning_paths(checked) == ["/currentVersion"]


# -- booleans --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "read"), [("true", True), ("false", False), ("TRUE", True), (" False ", False)]
)
def test_and_as_a_string_is_read_as_a_boolean(given: str, read: bool) -> None:
    checked = check(with_value(f"{CRITERION}/and", given))

    assert checked.title.patches[0].components[0].criteria[0].and_ is read
    assert [(w.path, w.message) for w in checked.warnings] == [
        (f"{CRITERION}/and", f'the string "{given}" was read as {str(read).lower()}')
    ]


@pytest.mark.parametrize("value", ["yes", "1", "", 1, 0, []])
def test_and_must_be_a_boolean(value: Any) -> None:
    assert [(p.path, p.message) for p in errors(with_value(f"{CRITERION}/and", value))] == [
        (f"{CRITERION}/and", "must be true or false")
    ]


def test_missing_and_is_served_as_true_without_a_warning() -> None:
    checked = check(delete_at(example(), f"{CRITERION}/and"))
    assert checked.warnings == []
    served = jamf(checked)
    assert served["patches"][0]["components"][0]["criteria"][0]["and"] is True


@pytest.mark.parametrize("key", ["standalone", "reboot"])
def test_patch_flags_as_strings_are_read_as_booleans(key: str) -> None:
    checked = check(with_value(f"/patches/1/{key}", "True"))
    assert getattr(checked.title.patches[1], key) is True
    assert warning_paths(checked) == [f"/patches/1/{key}"]


@pytest.mark.parametrize("key", ["standalone", "reboot"])
def test_patch_flags_must_be_booleans(key: str) -> None:
    assert [(p.path, p.message) for p in errors(with_value(f"/patches/1/{key}", 1))] == [
        (f"/patches/1/{key}", "must be true or false")
    ]


# -- at least one --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/requirements", "/patches", "/patches/1/components", "/patches/1/components/0/criteria"],
)
def test_lists_jamf_needs_have_at_least_one_entry(path: str) -> None:
    assert [(p.path, p.message) for p in errors(with_value(path, []))] == [
        (path, "must have at least one entry")
    ]


@pytest.mark.parametrize(
    "path", ["/patches/0/killApps", "/patches/0/capabilities", "/extensionAttributes"]
)
def test_lists_that_may_be_empty(path: str) -> None:
    document = with_value(path, [])
    if path == "/extensionAttributes":
        for criterion in EA_CRITERIA:
            set_at(document, criterion.removesuffix("/name") + "/type", "recon")
    assert check(document).warnings == []


@pytest.mark.parametrize(
    "path",
    [
        "/id",
        "/name",
        "/publisher",
        "/requirements",
        "/patches",
        "/requirements/0/name",
        "/requirements/0/operator",
        "/requirements/0/value",
        "/requirements/0/type",
        "/patches/0/version",
        "/patches/0/releaseDate",
        "/patches/0/standalone",
        "/patches/0/minimumOperatingSystem",
        "/patches/0/reboot",
        "/patches/0/killApps",
        "/patches/0/killApps/0/bundleId",
        "/patches/0/components",
        "/patches/0/components/0/criteria",
        "/patches/0/capabilities",
        "/extensionAttributes/0/displayName",
    ],
)
def test_required_keys(path: str) -> None:
    assert [(p.path, p.message) for p in errors(delete_at(example(), path))] == [
        (path, "is required")
    ]


@pytest.mark.parametrize("path", ["/name", "/publisher", "/patches/0/version"])
def test_text_kept_in_its_own_column_is_at_most_255_characters(path: str) -> None:
    longest = check(with_value(path, "x" * 255))
    # A new first version also replaces the stated currentVersion, with a warning.
    assert warning_paths(longest) == (["/currentVersion"] if path == "/patches/0/version" else [])
    assert [(p.path, p.message) for p in errors(with_value(path, "x" * 256))] == [
        (path, "must be at most 255 characters long")
    ]


@pytest.mark.parametrize("path", ["/name", "/publisher", "/patches/0/version", f"{CRITERION}/name"])
def test_names_must_not_be_empty(path: str) -> None:
    assert [(p.path, p.message) for p in errors(with_value(path, ""))] == [
        (path, "must not be empty")
    ]


# -- wrong JSON types ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("/name", 5, "must be a string"),
        ("/appName", 5, "must be a string"),
        ("/requirements", {"name": "x"}, "must be an array"),
        ("/requirements/0", "Application Bundle ID is x", "must be an object"),
        ("/patches", "2.1.0", "must be an array"),
        ("/patches/1", ["2.0.1"], "must be an object"),
        ("/patches/0/killApps", {}, "must be an array"),
        ("/patches/0/killApps/0", "Example.app", "must be an object"),
        ("/patches/0/components", {}, "must be an array"),
        ("/patches/0/components/0", 1, "must be an object"),
        ("/patches/0/components/0/criteria", "x", "must be an array"),
        ("/patches/0/minimumOperatingSystem", 12.0, "must be a string"),
        (f"{CRITERION}/value", 1, "must be a string"),
        ("/extensionAttributes", {}, "must be an array"),
        ("/extensionAttributes/0/displayName", False, "must be a string"),
        ("/patches/0/dependencies", "none", "must be an array"),
    ],
)
def test_wrong_json_types_are_located(path: str, value: Any, message: str) -> None:
    assert [(p.path, p.message) for p in errors(with_value(path, value))] == [(path, message)]


@pytest.mark.parametrize("raw", [None, [], [{}], "definition", 1, 1.5, True])
def test_a_definition_must_be_an_object(raw: Any) -> None:
    assert [(p.path, p.message) for p in errors(raw)] == [
        ("", "a definition must be a JSON object")
    ]


def test_an_empty_object_lists_every_missing_key() -> None:
    assert error_paths({}) == ["/id", "/name", "/patches", "/publisher", "/requirements"]


# -- unknown keys ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/signature",
        "/requirements/0/comment",
        "/patches/1/notes",
        "/patches/1/killApps/0/path",
        "/patches/1/components/0/id",
        "/patches/1/components/0/criteria/0/description",
        "/patches/1/capabilities/0/x",
        "/extensionAttributes/0/enabled",
    ],
)
def test_unknown_keys_are_dropped_with_a_warning(path: str) -> None:
    key = path.rsplit("/", 1)[1]
    checked = check(with_value(path, {"anything": [1, None]}))

    assert [(w.path, w.message) for w in checked.warnings] == [
        (path, f"unknown key '{key}' was removed; Jamf Pro does not read it")
    ]
    assert path not in dict(walk(jamf(checked)))


def test_unknown_key_paths_are_escaped() -> None:
    document = example()
    document["a/b~c"] = 1
    assert warning_paths(check(document)) == ["/a~1b~0c"]


# -- everything at once --------------------------------------------------------------------------


def test_every_problem_is_reported_at_once_in_document_order() -> None:
    document = example()
    set_at(document, "/id", "has space")
    set_at(document, "/requirements/0/operator", "equals")
    set_at(document, "/patches/1/version", "2.1.0")
    set_at(document, "/patches/2/releaseDate", "not a date")
    set_at(document, "/extensionAttributes/0/value", "***")

    assert error_paths(document) == [
        "/extensionAttributes/0/value",
        "/id",
        "/patches/1/version",
        "/patches/2/releaseDate",
        "/requirements/0/operator",
    ]


def test_errors_in_every_version_are_reported() -> None:
    document = example()
    for index in range(3):
        set_at(document, f"/patches/{index}/reboot", None)
    assert error_paths(document) == [f"/patches/{i}/reboot" for i in range(3)]


# -- strict mode -------------------------------------------------------------------------------


SLOPPY = [
    (f"{CRITERION}/and", "true"),
    ("/patches/1/releaseDate", "2017-9-12T14:19:38.270Z"),
    ("/patches/2/releaseDate", "2024-05-01T14:00:00+02:00"),
    ("/lastModified", "bogus"),
    ("/currentVersion", "1.0"),
    ("/patches/0/standalone", "true"),
    ("/requirements/0/operator", "IS"),
]


@pytest.mark.parametrize(("path", "value"), SLOPPY)
def test_strict_turns_each_repair_into_an_error(path: str, value: str) -> None:
    lenient = check(with_value(path, value))
    assert warning_paths(lenient) == [path]

    problems = errors(with_value(path, value), strict=True)

    assert [(p.path, p.message) for p in problems] == [
        (w.path, f"strict mode: {w.message}") for w in lenient.warnings
    ]


def test_strict_turns_unknown_keys_into_errors() -> None:
    assert error_paths(with_value("/patches/0/extra", 1), strict=True) == ["/patches/0/extra"]


def test_strict_lists_repairs_together_with_errors() -> None:
    document = with_value("/requirements/0/and", "true")
    set_at(document, "/patches/0/reboot", None)

    problems = errors(document, strict=True)

    assert [p.path for p in problems] == ["/patches/0/reboot", "/requirements/0/and"]
    assert problems[1].message.startswith("strict mode: ")


def test_all_sloppiness_at_once_is_repaired_and_each_repair_reported() -> None:
    document = example()
    for path, value in SLOPPY:
        set_at(document, path, value)

    checked = check(document)

    assert warning_paths(checked) == sorted(
        (p for p, _ in SLOPPY),
        key=lambda p: [(0, int(x)) if x.isdigit() else (1, x) for x in p.split("/")[1:]],
    )
    assert_canonical(checked.title)


# -- text no database can keep, nesting no encoder can write -----------------------------------


@pytest.mark.parametrize("path", ["/name", f"{CRITERION}/value"])
def test_nul_characters_are_rejected(path: str) -> None:
    assert [(p.path, p.message) for p in errors(with_value(path, "a\x00b"))] == [
        (path, "contains a NUL character (\\u0000); remove it")
    ]


def test_deep_nesting_is_rejected_without_recursion_errors() -> None:
    junk: Any = []
    for _ in range(2000):
        junk = [junk]
    problems = errors(with_value("/patches/0/dependencies", junk))
    assert len(problems) == 1
    assert problems[0].path.startswith("/patches/0/dependencies/0/0/0")
    assert "nested more than 32 levels" in problems[0].message


def test_shallow_dependencies_are_kept() -> None:
    dependencies = [{"name": "x", "version": ["1", {"a": 2}]}]
    checked = check(with_value("/patches/0/dependencies", dependencies))
    assert jamf(checked)["patches"][0]["dependencies"] == dependencies


# -- properties --------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=12,
)
EXAMPLE_PATHS = [path for path, _ in walk(example()) if path]


@settings(max_examples=200, deadline=None)
@given(raw=JSON)
def test_any_json_value_is_either_valid_or_invalid(raw: Any) -> None:
    result = outcome(raw)  # anything but Invalid propagates and fails the test
    assert isinstance(result, Invalid)  # no random value is a whole definition
    assert result.problems
    assert all(p.path == "" or p.path.startswith("/") for p in result.problems)
    assert all(p.message for p in result.problems)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(EXAMPLE_PATHS), value=JSON, strict=st.booleans())
def test_any_value_anywhere_gives_located_problems_or_a_canonical_title(
    path: str, value: Any, strict: bool
) -> None:
    result = outcome(with_value(path, value), strict=strict)
    if isinstance(result, Invalid):
        assert result.problems
        assert all(p.path.startswith("/") and p.message for p in result.problems)
        return
    assert_canonical(result.title)
    assert check(result.title.to_jamf(), strict=True).title == result.title


@settings(max_examples=100, deadline=None)
@given(title_id=st.text(max_size=300))
def test_id_rule_matches_the_jamf_pattern(title_id: str) -> None:
    accepted = re.fullmatch(r"[A-Za-z0-9._-]{1,255}", title_id) is not None
    result = outcome(with_value("/id", title_id))
    if accepted:
        assert isinstance(result, Checked)
        assert result.title.id == title_id
    else:
        assert isinstance(result, Invalid)
        assert [p.path for p in result.problems] == ["/id"]


def test_nulls_inside_dependencies_are_rejected() -> None:
    dependencies = [{"name": None}, [1, None]]
    assert [
        (p.path, p.message) for p in errors(with_value("/patches/0/dependencies", dependencies))
    ] == [
        ("/patches/0/dependencies/0/name", NULL_MESSAGE),
        ("/patches/0/dependencies/1/1", NULL_MESSAGE),
    ]


# -- versions: one rule, as they name URLs and are served as currentVersion ---------------------

VERSION = "/patches/1/version"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2.0/1", "contains '/' at character 4"),
        ("2.0\n1", "contains the control character U+000A at character 4"),
        ("2.\t0", "contains the control character U+0009 at character 3"),
        ("2.0\u20281", "contains the control character U+2028 LINE SEPARATOR at character 4"),
        ("2\u200b.0", "contains the control character U+200B ZERO WIDTH SPACE at character 2"),
        ("2.0\u202e", "contains the control character U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("\x7f", "contains the control character U+007F at character 1"),
        ("a\x00b", "contains the control character U+0000 at character 2"),
        ("   ", "must not be blank"),
        ("\n", "must not be blank"),
        (".", "'.' cannot be a version"),
        ("..", "'..' cannot be a version"),
    ],
)
def test_a_version_that_cannot_name_a_url_or_a_line_is_version_invalid(
    value: str, message: str
) -> None:
    for strict in (False, True):
        problems = errors(with_value(VERSION, value), strict=strict)
        assert [(p.path, p.code) for p in problems] == [(VERSION, "version_invalid")]
        assert problems[0].message.startswith(message)


@pytest.mark.parametrize("value", [" 2.0.1", "2.0.1 ", "\t2.0.1\r\n", "2.0.1\u2029", "\u00a02.0.1"])
def test_whitespace_around_a_version_is_repaired_or_refused_in_strict_mode(value: str) -> None:
    checked = check(with_value(VERSION, value))
    assert checked.title.patches[1].version == "2.0.1"
    assert [(w.path, w.code) for w in checked.warnings] == [(VERSION, "repaired")]
    position = 1 if value[0].isspace() else len(value.rstrip()) + 1
    assert f"at character {position}), which was removed" in checked.warnings[0].message
    refused = errors(with_value(VERSION, value), strict=True)
    assert [(p.path, p.code) for p in refused] == [(VERSION, "version_invalid")]
    assert refused[0].message.startswith("strict mode: has whitespace around it")


def test_a_repaired_version_is_compared_as_repaired() -> None:
    problems = errors(with_value(VERSION, " 2.1.0 "))
    assert [(p.path, p.message) for p in problems] == [
        (VERSION, "version '2.1.0' is already /patches/0")
    ]


def test_current_version_is_served_from_a_repaired_newest_version() -> None:
    checked = check(with_value("/patches/0/version", "2.1.0\n"))
    assert jamf(checked)["currentVersion"] == "2.1.0"
    assert jamf(checked)["patches"][0]["version"] == "2.1.0"


def test_every_bad_version_is_reported_at_once() -> None:
    document = with_value("/patches/0/version", "a/b")
    set_at(document, "/patches/2/version", "x\ny")
    assert [(p.path, p.code) for p in errors(document)] == [
        ("/patches/0/version", "version_invalid"),
        ("/patches/2/version", "version_invalid"),
    ]


def test_versions_that_are_only_unusual_are_accepted() -> None:
    for value in ("2.0 beta (build 5)", "2.0%2F1", "v2.0?x#y", "…", "2.0\u00a0rc", "..."):
        assert check(with_value(VERSION, value)).title.patches[1].version == value


@settings(max_examples=300, deadline=None)
@given(value=st.text(max_size=260), strict=st.booleans())
def test_any_version_is_accepted_usable_or_refused_as_version_invalid(
    value: str, strict: bool
) -> None:
    result = outcome(with_value(VERSION, value), strict=strict)
    if isinstance(result, Invalid):
        codes = {p.code for p in result.problems if p.path == VERSION}
        # A version equal to another one is a conflict of values, not a bad string.
        assert "version_invalid" in codes or value.strip() in ("2.1.0", "1.9.7"), result.problems
        return
    stored = result.title.patches[1].version
    assert stored == value.strip()
    assert 0 < len(stored) <= 255
    assert "/" not in stored
    assert stored not in (".", "..")
    assert stored == stored.strip()
    assert len(stored.splitlines()) == 1
    assert not {unicodedata.category(c) for c in stored} & {"Cc", "Cf", "Cs", "Zl", "Zp"}
