"""The lifecycle commands against a real ``pomona serve`` process: enable/disable, order, history,
diff, rollback, bulk and remote imports, backup and restore, and the audit log."""

from __future__ import annotations

import json
import re
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.clientkit import admin_token, logged_in, run
from tests.conftest import Server
from tests.fixtures.macapps import make_app

pytestmark = pytest.mark.slow


def _definition(env: dict[str, str], folder: Path, title_id: str, *versions: str) -> Any:
    """A valid definition made by `pomona starter`, with one version per entry (newest first)."""
    patches = []
    for version in versions:
        app = make_app(folder / f"{title_id}-{version}", name=title_id, version=version)
        made = run(env, "starter", str(app), "--publisher", "Example Corp", "--patch-only")
        assert made.returncode == 0, made.stderr
        patches.append(json.loads(made.stdout))
    app = make_app(folder / f"{title_id}-title", name=title_id, version=versions[0])
    made = run(env, "starter", str(app), "--publisher", "Example Corp")
    assert made.returncode == 0, made.stderr
    return {**json.loads(made.stdout), "patches": patches}


def _feed_versions(server: Server, title_id: str) -> list[str]:
    feed = httpx.get(f"{server.url}/jamf/v1/patch/{title_id}", timeout=30).json()
    return [p["version"] for p in feed["patches"]]


def test_enable_disable_order_history_diff_and_rollback(server: Server, tmp_path: Path) -> None:
    env = logged_in(server, tmp_path)
    source = tmp_path / "Example.json"
    source.write_text(json.dumps(_definition(env, tmp_path, "Example", "1.10", "1.2", "1.9")))
    assert run(env, "titles", "create", str(source), "-m", "first").returncode == 0

    # Version order: explicit, then by number.
    reordered = run(env, "versions", "reorder", "Example", "1.2", "1.9", "1.10")
    assert reordered.returncode == 0, reordered.stderr
    assert "reordered the versions of 'Example' (revision 2): reordered versions" in (
        reordered.stderr
    )
    assert _feed_versions(server, "Example") == ["1.2", "1.9", "1.10"]
    sorted_ = run(env, "versions", "sort", "Example", "--json")
    assert sorted_.returncode == 0, sorted_.stderr
    assert json.loads(sorted_.stdout)["revision"] == 3
    assert _feed_versions(server, "Example") == ["1.10", "1.9", "1.2"]
    missing = run(env, "versions", "reorder", "Example", "1.10", "1.9")
    assert missing.returncode == 1
    assert "error: /versions" in missing.stderr
    assert "1.2" in missing.stderr

    # What Jamf Pro sees.
    off = run(env, "versions", "disable", "Example", "1.10", "--reason", "broken installer")
    assert off.returncode == 0, off.stderr
    assert "disabled version 1.10 of 'Example' (revision 4): disabled version 1.10" in off.stderr
    assert _feed_versions(server, "Example") == ["1.9", "1.2"]
    assert run(env, "titles", "disable", "Example").returncode == 0
    assert httpx.get(f"{server.url}/jamf/v1/patch/Example", timeout=30).status_code == 404
    back = run(env, "titles", "enable", "Example", "--json")
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout)["enabled"] is True
    assert json.loads(back.stdout)["disabledVersions"] == ["1.10"]
    assert run(env, "versions", "enable", "Example", "1.10").returncode == 0
    assert _feed_versions(server, "Example") == ["1.10", "1.9", "1.2"]
    unknown = run(env, "versions", "disable", "Example", "9.9")
    assert unknown.returncode == 3

    # History: every change above, newest first, with who and why.
    history = run(env, "titles", "history", "Example", "--json")
    assert history.returncode == 0, history.stderr
    revisions = json.loads(history.stdout)
    assert [r["number"] for r in revisions] == [7, 6, 5, 4, 3, 2, 1]
    assert revisions[3]["reason"] == "broken installer"
    assert revisions[-1]["reason"] == "first"
    table = run({**env, "COLUMNS": "200"}, "titles", "history", "Example")
    assert "broken installer" in table.stdout
    assert "token:admin" in table.stdout

    shown = run({**env, "COLUMNS": "200"}, "titles", "revision", "Example", "4")
    assert shown.returncode == 0, shown.stderr
    assert "revision 4 of Example: disable-version by token:admin" in shown.stdout
    assert "disabled versions: 1.10" in shown.stdout
    whole = json.loads(run(env, "titles", "revision", "Example", "2", "--json").stdout)
    assert [p["version"] for p in whole["definition"]["patches"]] == ["1.2", "1.9", "1.10"]
    assert run(env, "titles", "revision", "Example", "99").returncode == 3

    # A diff reads as lines, without colour codes when not at a terminal.
    edited = _definition(env, tmp_path / "b", "Example", "1.10", "1.2", "1.9")
    edited["name"] = "Example Pro"
    source.write_text(json.dumps(edited))
    assert run(env, "titles", "replace", "Example", str(source), "-m", "rebrand").returncode == 0
    diff = run(env, "titles", "diff", "Example", "1", "8")
    assert diff.returncode == 0, diff.stderr
    assert diff.stdout.splitlines()[0] == "Example: revision 1 -> 8"
    assert '~ name: "Example" -> "Example Pro"' in diff.stdout
    assert "\x1b[" not in diff.stdout
    structured = json.loads(run(env, "titles", "diff", "Example", "1", "8", "--json").stdout)
    assert structured["changes"]["title"][0]["field"] == "name"
    assert "no change" in run(env, "titles", "diff", "Example", "7", "7").stdout

    # Roll back: a new revision, and the feed serves the old name again.
    rolled = run(env, "titles", "rollback", "Example", "1", "--reason", "undo rebrand")
    assert rolled.returncode == 0, rolled.stderr
    assert "rolled 'Example' back to revision 1 (revision 9)" in rolled.stderr
    feed = httpx.get(f"{server.url}/jamf/v1/patch/Example", timeout=30).json()
    assert feed["name"] == "Example"
    stale = run(env, "titles", "rollback", "Example", "2", "--if-revision", "8")
    assert stale.returncode == 1
    assert "revision 9" in stale.stderr

    # A deleted title keeps its history and comes back with a rollback.
    assert run(env, "titles", "delete", "Example", "--yes").returncode == 0
    gone = run(env, "titles", "revision", "Example", "10")
    assert "the title was deleted" in gone.stdout
    assert run(env, "titles", "rollback", "Example", "9").returncode == 0
    assert _feed_versions(server, "Example") == ["1.10", "1.2", "1.9"]  # revision 1's order


def test_bulk_import_is_all_or_nothing_and_reports_each_title(
    server: Server, tmp_path: Path
) -> None:
    env = logged_in(server, tmp_path)
    folder = tmp_path / "definitions"
    folder.mkdir()
    for title_id in ("Alpha", "Beta"):
        document = _definition(env, tmp_path, title_id, "1.0")
        (folder / f"{title_id}.json").write_text(json.dumps(document))
    (folder / "README.txt").write_text("not a definition")
    gamma = _definition(env, tmp_path, "Gamma", "2.0")
    with zipfile.ZipFile(tmp_path / "more.zip", "w") as archive:
        archive.writestr("Gamma.json", json.dumps(gamma))
    bad = {**gamma, "id": "Bad", "patches": [{**gamma["patches"][0], "reboot": "maybe"}]}
    (tmp_path / "bad.json").write_text(json.dumps(bad))

    # One invalid file: nothing is written, and the problem is located in its file.
    refused = run(env, "titles", "import", str(folder), str(tmp_path / "bad.json"))
    assert refused.returncode == 1
    assert "error: /bad.json/patches/0/reboot:" in refused.stderr
    assert run(env, "titles", "list", "--json").stdout == "[]\n"

    dry = run(env, "titles", "import", str(folder), str(tmp_path / "more.zip"), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would create" in dry.stdout
    assert "3 created, 0 replaced, 0 copied, 0 skipped; policy skip (dry run" in dry.stderr
    assert run(env, "titles", "list", "--json").stdout == "[]\n"

    imported = run(env, "titles", "import", str(folder), str(tmp_path / "more.zip"), "--json")
    assert imported.returncode == 0, imported.stderr
    report = json.loads(imported.stdout)
    assert sorted((i["id"], i["result"]) for i in report["items"]) == [
        ("Alpha", "create"),
        ("Beta", "create"),
        ("Gamma", "create"),
    ]
    again = run(env, "titles", "import", str(folder / "Alpha.json"), "--policy", "copy")
    assert again.returncode == 0, again.stderr
    assert "Alpha-copy" in again.stdout
    assert "0 created, 0 replaced, 1 copied, 0 skipped" in again.stderr
    skipped = run(env, "titles", "import", str(folder / "Beta.json"), "--json")
    assert json.loads(skipped.stdout)["skipped"] == 1
    replaced = run(env, "titles", "import", str(folder / "Beta.json"), "--replace", "--json")
    assert json.loads(replaced.stdout)["items"][0]["revision"] == 2

    assert run(env, "titles", "import", str(tmp_path / "nowhere.json")).returncode == 2
    reader = admin_token(server, "reader", "titles:read")
    denied = run({**env, "POMONA_TOKEN": reader}, "titles", "import", str(folder))
    assert denied.returncode == 4


def test_import_remote_refuses_loopback_unless_allowed(server: Server, tmp_path: Path) -> None:
    env = logged_in(server, tmp_path)
    refused = run(env, "titles", "import-remote", f"{server.url}/jamf/v1", "--id", "Example")
    assert refused.returncode == 1
    assert "error: /url:" in refused.stderr


@pytest.fixture
def open_server(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Server:
    """A server allowed to fetch from loopback, so it can import from another local server."""
    monkeypatch.setenv("POMONA_FETCH_ALLOWED_NETWORKS", '["127.0.0.0/8"]')
    started: Server = request.getfixturevalue("server")
    return started


def test_import_remote_from_another_source(open_server: Server, tmp_path: Path) -> None:
    env = logged_in(open_server, tmp_path)
    document = _definition(env, tmp_path, "Example", "1.0")
    (tmp_path / "Example.json").write_text(json.dumps(document))
    assert run(env, "titles", "create", str(tmp_path / "Example.json")).returncode == 0

    # The server's own feed stands for another patch source.
    feed = f"{open_server.url}/jamf/v1"
    dry = run(env, "titles", "import-remote", feed, "--policy", "copy", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["items"][0]["result"] == "copy"
    copied = run(env, "titles", "import-remote", feed, "--id", "Example", "--policy", "copy")
    assert copied.returncode == 0, copied.stderr
    assert "Example-copy" in copied.stdout
    shown = run(env, "titles", "show", "Example-copy", "--json")
    assert shown.returncode == 0, shown.stderr
    assert [p["version"] for p in json.loads(shown.stdout)["patches"]] == ["1.0"]
    # The job failed on the server: its errors, and the exit code of their status (404).
    unknown = run(env, "titles", "import-remote", feed, "--id", "Nope")
    assert unknown.returncode == 3
    assert "error: /ids:" in unknown.stderr
    assert "does not list: Nope" in unknown.stderr

    # --no-wait: the job's id alone on stdout; the job goes on and can be followed.
    queued = run(env, "titles", "import-remote", feed, "--no-wait", "--policy", "replace")
    assert queued.returncode == 0, queued.stderr
    job_id = queued.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{32}", job_id), queued.stdout
    assert f"/api/v1/jobs/{job_id}" in queued.stderr
    headers = {"Authorization": f"Bearer {admin_token(open_server, 'follower')}"}
    deadline = time.monotonic() + 30
    while True:
        job = httpx.get(f"{open_server.url}/api/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert job["status"] == "succeeded", job
    assert job["result"]["replaced"] == 2  # Example and Example-copy


def test_backup_restore_and_audit(server: Server, tmp_path: Path) -> None:
    env = logged_in(server, tmp_path)
    for title_id in ("Alpha", "Beta"):
        path = tmp_path / f"{title_id}.json"
        path.write_text(json.dumps(_definition(env, tmp_path, title_id, "1.0")))
        assert run(env, "titles", "create", str(path)).returncode == 0
    assert run(env, "versions", "disable", "Beta", "1.0").returncode == 0

    target = tmp_path / "backup.zip"
    made = run(env, "backup", "--history", "-o", str(target))
    assert made.returncode == 0, made.stderr
    assert f"backed up 2 title(s) with their history to {target}" in made.stderr
    assert not target.with_name("backup.zip.part").exists()
    with zipfile.ZipFile(target) as archive:
        names = set(archive.namelist())
    assert {"patch_archive/Alpha.json", "patch_archive/Beta.json"} <= names
    assert any(n.startswith("pomona/history/") for n in names)

    assert run(env, "titles", "delete", "Alpha", "--yes").returncode == 0
    dry = run(env, "restore", str(target), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would create" in dry.stdout
    assert "would skip" in dry.stdout
    assert "1 created, 0 replaced, 0 copied, 1 skipped; policy skip (dry run" in dry.stderr
    assert httpx.get(f"{server.url}/jamf/v1/patch/Alpha", timeout=30).status_code == 404

    restored = run(env, "restore", str(target), "--policy", "replace", "--json")
    assert restored.returncode == 0, restored.stderr
    report = json.loads(restored.stdout)
    assert (report["created"], report["replaced"]) == (1, 1)
    assert _feed_versions(server, "Alpha") == ["1.0"]
    # Beta's only version stays off the feed: the backup carries what Jamf Pro may see.
    assert httpx.get(f"{server.url}/jamf/v1/patch/Beta", timeout=30).status_code == 404

    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    refused = run(env, "restore", str(broken))
    assert refused.returncode == 1
    assert "error:" in refused.stderr
    assert run(env, "restore", str(tmp_path / "missing.zip")).returncode == 2

    # The audit log saw all of it, and filters.
    deletes = run(env, "audit", "--action", "title.delete", "--json")
    assert deletes.returncode == 0, deletes.stderr
    events = json.loads(deletes.stdout)
    assert [(e["action"], e["target"], e["actor"]) for e in events] == [
        ("title.delete", "title:Alpha", "token:admin")
    ]
    everything = run(env, "audit", "--target", "title:*", "--limit", "3", "--json")
    assert len(json.loads(everything.stdout)) == 3
    human = run({**env, "COLUMNS": "200"}, "audit", "--since", "2000-01-01T00:00:00Z")
    assert "title.delete" in human.stdout
    reader = admin_token(server, "reader", "titles:read")
    denied = run({**env, "POMONA_TOKEN": reader}, "audit")
    assert denied.returncode == 4
