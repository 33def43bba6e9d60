"""``pomona namespaces``, ``--namespace`` on the title commands and ``pomona token create
--namespace``, against a real server, as a community server's admin and a publisher use them."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.cli.clientkit import client_env, logged_in, run
from tests.conftest import Server, fixture_text

pytestmark = pytest.mark.slow


def test_an_admin_sets_up_a_publisher_who_publishes_only_in_its_namespace(
    server: Server, tmp_path: Path
) -> None:
    admin = logged_in(server, tmp_path / "admin")
    created = run(admin, "namespaces", "create", "bryson", "--display-name", "Bryson")
    assert created.returncode == 0, created.stderr
    assert "/jamf/v1/bryson/" in created.stderr
    refused = run(admin, "namespaces", "create", "Bryson", "--display-name", "x")
    assert refused.returncode != 0
    assert "U+0042 LATIN CAPITAL LETTER B" in " ".join(refused.stderr.split())
    edited = run(admin, "namespaces", "edit", "bryson", "--decorate-ids")
    assert edited.returncode == 0, edited.stderr
    listed = json.loads(run(admin, "namespaces", "list", "--json").stdout)
    assert [(n["slug"], n["decorateIds"]) for n in listed] == [("default", False), ("bryson", True)]

    made = server.pomona(
        "token", "create", "--name", "bryson", "--scope", "titles:write", "--namespace", "bryson"
    )
    assert made.returncode == 0, made.stderr
    tokens = json.loads(server.pomona("token", "list", "--json").stdout)
    assert [t["namespaces"] for t in tokens if t["name"] == "bryson"] == [["bryson"]]
    publisher = client_env(tmp_path / "publisher")
    login = run(publisher, "login", server.url, "--token", "-", stdin=made.stdout)
    assert login.returncode == 0, login.stderr

    source = tmp_path / "Xcode.json"
    source.write_text(json.dumps({**json.loads(fixture_text("example.json")), "id": "Xcode"}))
    mine = run(publisher, "titles", "create", str(source), "--json")
    assert mine.returncode == 0, mine.stderr
    assert json.loads(mine.stdout)["namespace"] == "bryson"
    source.write_text(json.dumps({**json.loads(fixture_text("example.json")), "id": "Other"}))
    elsewhere = run(publisher, "titles", "create", str(source), "--namespace", "default")
    assert elsewhere.returncode != 0
    assert "it may write only in: bryson" in " ".join(elsewhere.stderr.split())
    assert "pomona token create --namespace" in " ".join(elsewhere.stderr.split())

    feed = httpx.get(f"{server.url}/jamf/v1/bryson/software").json()
    assert [t["id"] for t in feed] == ["Xcode_Bryson"]
    assert httpx.get(f"{server.url}/jamf/v1/software").json() == []
    listed_titles = run(admin, "titles", "list", "--namespace", "bryson", "--json")
    assert [t["id"] for t in json.loads(listed_titles.stdout)] == ["Xcode"]

    held = run(admin, "namespaces", "delete", "bryson", "--yes")
    assert held.returncode != 0
    assert "Xcode" in held.stderr
