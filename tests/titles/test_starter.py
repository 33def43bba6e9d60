"""The definition generator on real artefacts: bundles, both plist formats, zips, flat packages."""

from __future__ import annotations

import base64
import plistlib
import zipfile
from pathlib import Path

import pytest

from pomona.errors import Invalid
from pomona.titles.starter import (
    ExtensionAttribute,
    Options,
    StarterError,
    XarArchive,
    generate_from,
    read_app,
)
from pomona.titles.validation import check_definition
from tests.fixtures.macapps import RELEASED, info_plist, make_app, make_pkg, write_plist, zip_app

NOW = RELEASED.replace(year=2025)


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "xml"])
def test_an_app_bundle_gives_the_usual_template_that_the_validator_accepts(
    tmp_path: Path, binary: bool
) -> None:
    app = make_app(tmp_path, binary=binary, name="Example App")
    raw = (app / "Contents" / "Info.plist").read_bytes()
    assert raw.startswith(b"bplist00") == binary

    made = generate_from(app, Options(publisher="Example Corp"), now=NOW)

    assert made.definition["id"] == "ExampleApp"
    assert made.definition["name"] == "Example App"
    assert made.definition["publisher"] == "Example Corp"
    assert made.definition["bundleId"] == "com.example.app"
    assert made.definition["appName"] == "Example App.app"
    assert made.definition["currentVersion"] == "2.1.0"
    assert made.definition["requirements"] == [
        {
            "name": "Application Bundle ID",
            "operator": "is",
            "value": "com.example.app",
            "type": "recon",
            "and": True,
        }
    ]
    patch = made.patch
    assert patch["version"] == "2.1.0"
    assert patch["releaseDate"] == "2024-06-03T10:00:00Z"  # the bundle's modification time
    assert patch["minimumOperatingSystem"] == "12.0"
    assert patch["killApps"] == [{"bundleId": "com.example.app", "appName": "Example App.app"}]
    assert [c["name"] for c in patch["components"][0]["criteria"]] == [
        "Application Bundle ID",
        "Application Version",
    ]
    assert patch["capabilities"][0]["operator"] == "greater than or equal"
    assert patch["standalone"] is True
    assert patch["reboot"] is False
    # The server's validator takes it as is, with nothing to repair.
    assert check_definition(made.definition, now=NOW, strict=True).warnings == []
    assert made.guessed == ["id 'ExampleApp' (the name without spaces; set --id)"]


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "xml"])
def test_a_bare_info_plist_in_either_format(tmp_path: Path, binary: bool) -> None:
    path = write_plist(
        tmp_path / "Info.plist", info_plist("Zoom", "us.zoom.xos", "6.0.11", "11.0"), binary=binary
    )

    info = read_app(path)

    assert (info.name, info.bundle_id, info.version, info.minimum_os, info.app_name) == (
        "Zoom",
        "us.zoom.xos",
        "6.0.11",
        "11.0",
        "Zoom.app",
    )
    made = generate_from(path, Options(), now=NOW)
    assert made.definition["publisher"] == "Zoom"  # guessed from the bundle id, and said so
    assert made.guessed[0].startswith("publisher 'Zoom'")


def test_a_zipped_app_ignores_macosx_folders_and_nested_helpers(tmp_path: Path) -> None:
    app = make_app(tmp_path / "build", version="3.0")
    archive = zip_app(app, tmp_path / "Example.zip")

    info = read_app(archive)

    assert (info.name, info.bundle_id, info.version, info.app_name) == (
        "Example",
        "com.example.app",
        "3.0",
        "Example.app",
    )
    assert info.released is not None


@pytest.mark.parametrize("product", [True, False], ids=["product-archive", "component"])
def test_a_flat_package_reads_packageinfo_and_distribution(tmp_path: Path, product: bool) -> None:
    pkg = make_pkg(tmp_path / "Example.pkg", version="2.2.0", product=product)
    assert pkg.read_bytes()[:4] == b"xar!"

    info = read_app(pkg)

    assert info.bundle_id == "com.example.app"  # the app, not its nested helper
    assert info.version == "2.2.0"
    assert info.app_name == "Example.app"
    assert info.released == RELEASED  # the archive's creation time
    if product:
        assert info.minimum_os == "13.0"  # from Distribution's allowed-os-versions
        made = generate_from(pkg, Options(publisher="Example Corp"), now=NOW)
        assert made.patch["minimumOperatingSystem"] == "13.0"
    else:
        assert info.minimum_os is None
        with pytest.raises(Invalid) as caught:
            generate_from(pkg, Options(), now=NOW)
        assert [p.path for p in caught.value.problems] == ["/patches/0/minimumOperatingSystem"]
        assert "--min-os" in caught.value.problems[0].message


def test_the_xar_reader_sees_directories_and_both_encodings(tmp_path: Path) -> None:
    pkg = make_pkg(tmp_path / "Example.pkg")
    archive = XarArchive(pkg)
    assert sorted(archive.files) == [
        "Distribution",
        "app.pkg/Bom",
        "app.pkg/PackageInfo",
        "app.pkg/Payload",
    ]
    assert archive.read("app.pkg/Bom").startswith(b"BOMStore")
    assert archive.read("app.pkg/PackageInfo").startswith(b"<?xml")


def test_options_win_and_extension_attributes_each_get_their_key(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    made = generate_from(
        app,
        Options(
            name="Example Pro",
            title_id="ExamplePro",
            publisher="Example Corp",
            version="9.0",
            minimum_os="14.0",
            release_date="2024-7-1T08:15",
            extension_attributes=[
                ExtensionAttribute("example-version", "#!/bin/sh\necho '<result>9.0</result>'\n"),
                ExtensionAttribute("example-channel", "#!/bin/sh\necho '<result>beta</result>'\n"),
            ],
        ),
        now=NOW,
    )
    definition = made.definition
    assert (definition["id"], definition["name"], definition["currentVersion"]) == (
        "ExamplePro",
        "Example Pro",
        "9.0",
    )
    assert made.patch["releaseDate"] == "2024-07-01T08:15:00Z"
    assert made.patch["minimumOperatingSystem"] == "14.0"
    keys = [ea["key"] for ea in definition["extensionAttributes"]]
    assert keys == ["example-version", "example-channel"]
    script = base64.b64decode(definition["extensionAttributes"][0]["value"]).decode()
    assert "<result>9.0</result>" in script
    # The first EA reports the version: requirement and component ask it, not inventory.
    assert definition["requirements"][0]["type"] == "extensionAttribute"
    version_test = made.patch["components"][0]["criteria"][1]
    assert version_test == {
        "name": "example-version",
        "operator": "is",
        "value": "9.0",
        "type": "extensionAttribute",
        "and": True,
    }
    assert made.guessed == []


def test_what_cannot_be_derived_is_asked_for_all_at_once(tmp_path: Path) -> None:
    path = tmp_path / "Info.plist"
    path.write_bytes(plistlib.dumps({"CFBundlePackageType": "APPL"}, fmt=plistlib.FMT_BINARY))

    with pytest.raises(Invalid) as caught:
        generate_from(path, Options(release_date="soon"), now=NOW)

    messages = {p.path: p.message for p in caught.value.problems}
    assert set(messages) == {
        "/name",
        "/bundleId",
        "/patches/0/version",
        "/patches/0/minimumOperatingSystem",
        "/patches/0/releaseDate",
    }
    assert "--bundle-id" in messages["/bundleId"]


def test_an_invalid_option_is_reported_by_the_validator(tmp_path: Path) -> None:
    with pytest.raises(Invalid) as caught:
        generate_from(make_app(tmp_path), Options(title_id="has space"), now=NOW)
    assert [p.path for p in caught.value.problems] == ["/id"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a plist at all", "not a property list"),
        (b"xar!" + bytes(24), "table of contents"),
        (b"PK\x03\x04garbage", "not a zip archive"),
        (plistlib.dumps(["a", "list"]), "not a dictionary"),
    ],
)
def test_unreadable_input_says_what_it_is_not(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "thing"
    path.write_bytes(content)
    with pytest.raises(StarterError, match=message):
        read_app(path)


def test_a_zip_without_an_app_and_a_folder_that_is_no_bundle(tmp_path: Path) -> None:
    (tmp_path / "empty.app").mkdir()
    with pytest.raises(StarterError, match=r"Contents/Info\.plist"):
        read_app(tmp_path / "empty.app")
    with zipfile.ZipFile(tmp_path / "docs.zip", "w") as archive:
        archive.writestr("README.txt", "hello")
    with pytest.raises(StarterError, match=r"no \.app bundle"):
        read_app(tmp_path / "docs.zip")
