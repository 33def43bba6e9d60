"""``pomona packages`` against a real server: tus and plain uploads, verified downloads."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import httpx
import pytest

from tests.cli.clientkit import logged_in, run
from tests.conftest import Server

pytestmark = pytest.mark.slow


def test_upload_list_edit_download_delete(server: Server, tmp_path: Path) -> None:
    env = logged_in(server, tmp_path)
    content = os.urandom(5 * 1024 * 1024 + 123)
    package = tmp_path / "Example-2.2.pkg"
    package.write_bytes(content)
    digest = hashlib.sha256(content).hexdigest()

    # tus, in 1 MiB pieces, each with its checksum.
    uploaded = run(env, "packages", "upload", str(package), "--chunk-size", "1", "--json")
    assert uploaded.returncode == 0, uploaded.stderr
    assert json.loads(uploaded.stdout)["sha256"] == digest
    assert f"sha256 {digest}" in uploaded.stderr
    assert not json.loads((tmp_path / "config" / "pomona" / "uploads.json").read_text())

    # A plain PUT, under another name; the same content again is "unchanged".
    plain = run(env, "packages", "upload", str(package), "--plain", "--name", "Copy.pkg", "--json")
    assert plain.returncode == 0, plain.stderr
    assert json.loads(plain.stdout)["outcome"] == "created"
    other = tmp_path / "Other.pkg"
    other.write_bytes(b"other")
    clash = run(env, "packages", "upload", str(other), "--name", "Copy.pkg")
    assert clash.returncode == 1
    assert "replace" in clash.stderr
    assert "next: add --replace" in clash.stderr  # the CLI's own step, from the error's code

    # The same content under a taken name, resumable: nothing to send, and no clash.
    again = run(env, "packages", "upload", str(package), "--name", "Copy.pkg", "--json")
    assert again.returncode == 0, again.stderr
    assert "same content; nothing to upload" in again.stderr
    assert json.loads(again.stdout)["sha256"] == digest

    listed = json.loads(run(env, "packages", "list", "--json").stdout)
    assert [p["filename"] for p in listed] == ["Copy.pkg", "Example-2.2.pkg"]
    edited = run(env, "packages", "edit", "Copy.pkg", "--tag", "test", "--notes", "QA", "--json")
    assert json.loads(edited.stdout)["tags"] == ["test"]
    assert [
        p["filename"]
        for p in json.loads(run(env, "packages", "list", "--tag", "test", "--json").stdout)
    ] == ["Copy.pkg"]

    # A download resumes from a partial file with Range, and is verified.
    target = tmp_path / "down" / "Example-2.2.pkg"
    target.parent.mkdir()
    (target.parent / "Example-2.2.pkg.part").write_bytes(content[:3_000_000])
    got = run(env, "packages", "download", "Example-2.2.pkg", "-o", str(target.parent))
    assert got.returncode == 0, got.stderr
    assert target.read_bytes() == content
    assert "sha256 verified" in got.stderr

    # A corrupt partial file is caught by the hash and removed.
    (target.parent / "Copy.pkg.part").write_bytes(b"\0" * 1000)
    corrupt = run(env, "packages", "download", "Copy.pkg", "-o", str(target.parent))
    assert corrupt.returncode == 1
    assert "does not match its SHA-256" in corrupt.stderr
    assert not (target.parent / "Copy.pkg.part").exists()
    assert not (target.parent / "Copy.pkg").exists()

    assert run(env, "packages", "delete", "Copy.pkg", "--yes").returncode == 0
    missing = run(env, "packages", "show", "Copy.pkg")
    assert missing.returncode == 3
    assert "next: list the packages with `pomona packages list`" in missing.stderr
    assert httpx.get(f"{server.url}/Packages/Example-2.2.pkg", timeout=30).content == content
