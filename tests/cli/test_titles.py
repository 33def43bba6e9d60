"""The client commands against a real ``pomona serve`` process: profiles, titles, versions and the
generator, as a new user would run them."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.cli.clientkit import admin_token, client_env, logged_in, run
from tests.conftest import Server, free_port
from tests.fixtures.macapps import make_app, make_pkg

pytestmark = pytest.mark.slow


def test_login_checks_the_token_and_keeps_it_private(server: Server, tmp_path: Path) -> None:
    env = client_env(tmp_path)
    config = tmp_path / "config" / "pomona" / "config.toml"

    refused = run(env, "login", server.url, "--token", "pmn_not-a-real-token")
    assert refused.returncode == 4, refused.stderr
    assert "unknown, revoked or expired" in refused.stderr
    assert not config.exists()

    token = admin_token(server)
    saved = run(env, "login", server.url, "--token", "-", "--profile", "lab", stdin=token)
    assert saved.returncode == 0, saved.stderr
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
    assert token in config.read_text()

    listed = run(env, "profiles", "--json")
    assert json.loads(listed.stdout) == [{"name": "lab", "url": server.url, "current": True}]
    assert token not in listed.stdout
    assert run(env, "titles", "list", "--json").stdout == "[]\n"

    # The environment wins over the file; an unknown profile and a dead server say so.
    dead = f"http://127.0.0.1:{free_port()}"
    unreachable = run({**env, "POMONA_URL": dead}, "titles", "list")
    assert unreachable.returncode == 5
    assert f"cannot reach {dead}" in unreachable.stderr
    unknown = run({**env, "POMONA_PROFILE": "nope"}, "titles", "list")
    assert unknown.returncode == 2
    assert "no profile 'nope'" in unknown.stderr
    nobody = run(client_env(tmp_path / "elsewhere"), "titles", "list")
    assert nobody.returncode == 2
    assert "pomona login" in nobody.stderr

    assert run(env, "logout", "--profile", "lab").returncode == 0
    assert run(env, "profiles", "--json").stdout == "[]\n"


def test_a_new_user_generates_publishes_versions_and_exports(
    server: Server, tmp_path: Path
) -> None:
    env = logged_in(server, tmp_path)
    v1 = make_app(tmp_path / "v1", version="2.1.0", binary=False)
    v2 = make_app(tmp_path / "v2", version="2.2.0")
    pkg = make_pkg(tmp_path / "Example-2.3.0.pkg", version="2.3.0")

    generated = run(env, "starter", str(v1), "--publisher", "Example Corp")
    assert generated.returncode == 0, generated.stderr
    created = run(env, "titles", "create", "-", "--reason", "first", stdin=generated.stdout)
    assert created.returncode == 0, created.stderr
    assert "created title 'Example' (revision 1)" in created.stderr

    # The pipe from the issue, through a real shell pipe.
    piped = subprocess.run(  # noqa: S602 (a real pipe, as the docs show)
        f"{_cli()} starter {v2} --patch-only | {_cli()} versions add Example -",
        shell=True,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert piped.returncode == 0, piped.stderr
    assert "added version 2.2.0 to 'Example' (revision 2)" in piped.stderr
    from_pkg = run(env, "versions", "add", "Example", str(pkg), "--json")
    assert from_pkg.returncode == 0, from_pkg.stderr
    assert json.loads(from_pkg.stdout)["version"]["minimumOperatingSystem"] == "13.0"

    listed = json.loads(run(env, "versions", "list", "Example", "--json").stdout)
    assert [p["version"] for p in listed] == ["2.3.0", "2.2.0", "2.1.0"]
    shown = run(env, "titles", "show", "Example")
    assert "Example (Example) by Example Corp" in shown.stdout
    assert "2.3.0" in shown.stdout

    # What Jamf Pro reads is what the generator wrote.
    feed = httpx.get(f"{server.url}/jamf/v1/patch/Example", timeout=30).json()
    assert feed["patches"][1]["killApps"] == [
        {"bundleId": "com.example.app", "appName": "Example.app"}
    ]

    exported = run(env, "titles", "export", "-o", str(tmp_path / "backup"))
    assert exported.returncode == 0, exported.stderr
    assert json.loads((tmp_path / "backup" / "Example.json").read_text()) == feed

    deleted = run(env, "versions", "delete", "Example", "2.3.0", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert run(env, "titles", "delete", "Example").returncode == 2  # asks, and no terminal
    assert run(env, "titles", "delete", "Example", "--yes").returncode == 0
    gone = run(env, "titles", "show", "Example")
    assert gone.returncode == 3
    assert "no title 'Example'" in gone.stderr
    # The server names no URL; the CLI says its own next step from the problem's code.
    assert "/api/" not in gone.stderr
    assert "next: list the titles with `pomona titles list`" in gone.stderr


def test_server_errors_show_their_pointers_and_exit_codes(server: Server, tmp_path: Path) -> None:
    env = logged_in(server, tmp_path)
    good = json.loads(run(env, "starter", str(make_app(tmp_path)), "--publisher", "Ex").stdout)
    bad = {**good, "id": "Bad", "patches": [{**good["patches"][0], "reboot": "maybe"}]}
    (tmp_path / "good.json").write_text(json.dumps(good))
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    (tmp_path / "broken.json").write_text("{")

    refused = run(env, "titles", "create", str(tmp_path / "bad.json"))
    assert refused.returncode == 1
    assert "error: /patches/0/reboot:" in refused.stderr
    broken = run(env, "titles", "create", str(tmp_path / "broken.json"))
    assert broken.returncode == 2
    assert "not JSON" in broken.stderr

    # A bulk import is all or nothing: the bad file stops the good one too.
    imported = run(env, "titles", "import", str(tmp_path / "good.json"), str(tmp_path / "bad.json"))
    assert imported.returncode == 1
    assert "error: /bad.json/patches/0/reboot:" in imported.stderr
    created = run(env, "titles", "import", str(tmp_path / "good.json"), "--json")
    assert json.loads(created.stdout)["items"][0]["result"] == "create"
    again = run(env, "titles", "import", str(tmp_path / "good.json"), "--replace", "--json")
    assert json.loads(again.stdout)["items"][0]["result"] == "replace"

    stale = run(
        env, "titles", "replace", "Example", str(tmp_path / "good.json"), "--if-revision", "1"
    )
    assert stale.returncode == 1
    assert "is at revision 2, not 1" in stale.stderr

    reader = admin_token(server, "reader", "titles:read")
    denied = run({**env, "POMONA_TOKEN": reader}, "versions", "delete", "Example", "2.1.0", "-y")
    assert denied.returncode == 4
    assert "titles:write" in denied.stderr


def test_starter_publish_with_extension_attributes(server: Server, tmp_path: Path) -> None:
    env = logged_in(server, tmp_path)
    script = tmp_path / "version.sh"
    script.write_text('#!/bin/sh\necho "<result>$(cat /opt/example/VERSION)</result>"\n')
    app = make_app(tmp_path, name="Example Tool", version="1.0")
    published = run(
        env,
        "starter",
        str(app),
        "--publisher",
        "Example Corp",
        "--ea",
        f"example-tool-version={script}:Example Tool version",
        "--publish",
    )
    assert published.returncode == 0, published.stderr
    assert "created title 'ExampleTool'" in published.stderr
    definition = json.loads(run(env, "titles", "show", "ExampleTool", "--json").stdout)
    assert definition["extensionAttributes"][0]["key"] == "example-tool-version"
    assert definition["extensionAttributes"][0]["displayName"] == "Example Tool version"

    unknown = run(env, "starter", str(tmp_path / "missing.app"))
    assert unknown.returncode == 2
    assert "does not exist" in unknown.stderr


def _cli() -> str:
    import shlex
    import sys

    return f"{shlex.quote(sys.executable)} -m pomona"
