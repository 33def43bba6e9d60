"""Real PatchServer clients, unchanged, against a real ``pomona serve``.

* CytadelHosting/patch_server_updater (bash + curl): its ``init`` and ``add`` commands, run with
  the script's own curl, grep and cut lines.
* brysontyrrell/PatchCLI's ``patchlib``: its request and error handling transcribed below.
* jamf/kinobi-title-editor's ``download_patch_source.sh``: the export loop, then the files
  imported into a second server.
Plus the refusal of private addresses on remote imports, and their success once allowed.
"""

# The client scripts' lines are kept verbatim, however long.
# ruff: noqa: E501
from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from fastapi import FastAPI

from pomona.app import create_app
from pomona.settings import Settings
from tests.conftest import Server, fixture_text, make_token

EXAMPLE: dict[str, Any] = json.loads(fixture_text("example.json"))

# patch_server_updater.sh's `init` (push_patch_def) and `add` (create_json, check_newversion):
# the network and parsing lines exactly as the script has them.
UPDATER = r"""
set -u
init() {
  TEMP_PATCH_SERVER_URL=$(echo "$2" | cut -d '/' -f1-3)
  if [ -z "$(curl -L -m 15 -s -X GET $TEMP_PATCH_SERVER_URL | grep "<title>Patch Server</title>")" ]; then
    echo "Sorry, can't connect to the patch server at $TEMP_PATCH_SERVER_URL"; exit 3
  fi
  response_check=$(curl -H "Authorization: Bearer $CONFIG_TOKEN" -s -m 60 -X POST $TEMP_PATCH_SERVER_URL/api/v1/title -d @"$1" -H 'Content-Type: application/json')
  if [ -z "$(echo ${response_check} | grep '^{ "database_id":')" ]; then
    echo "Push failed, check api response here :"; echo "$response_check"; exit 4
  fi
  echo "Push success"
}
add() {
  PATCH_SERVER_API_URL_GET_VERSION="$URL/jamf/v1/patch/$ID"
  PATCH_SERVER_API_URL_POST_VERSION="$URL/api/v1/title/$ID/version"
  data_to_push=$(echo "$TEMPLATE" | sed -e "s/PLACEHOLDER_VERSION/$2/g" | sed -e "s/PLACEHOLDER_DATE/$1/g" | sed -e "s/PLACEHOLDER_OS/$3/g" | sed -e "s/PLACEHOLDER_FIXED_APP_NAME/${FIXED_APP_NAME}/g" | sed -e "s/PLACEHOLDER_FIXED_BUNDLE_ID/${FIXED_BUNDLE_ID}/g" | sed -e "s/PLACEHOLDER_FIXED_NAME/${FIXED_NAME}/g")
  if [ -z "$(curl -L -m 60 -s ${PATCH_SERVER_API_URL_GET_VERSION} |grep '"version":.*'| cut -d '"' -f4 | grep -m 1 "^${2}$")" ]; then
    echo "New version detected : $2"
    curl -H "Authorization: Bearer $CONFIG_TOKEN" --silent -m 60 --output /dev/null -w '%{http_code}' -X POST $PATCH_SERVER_API_URL_POST_VERSION -d "$data_to_push" -H 'Content-Type: application/json'
    echo
  else
    echo "Version already on patch server"
  fi
}
"$@"
"""

TEMPLATE = """{
    "releaseDate": "PLACEHOLDER_DATE",
    "killApps": [{"appName": "PLACEHOLDER_FIXED_APP_NAME", "bundleId": "PLACEHOLDER_FIXED_BUNDLE_ID"}],
    "version": "PLACEHOLDER_VERSION",
    "components": [{"version": "PLACEHOLDER_VERSION", "name": "PLACEHOLDER_FIXED_NAME", "criteria": [
        {"operator": "is", "and": true, "type": "recon", "name": "Application Bundle ID", "value": "PLACEHOLDER_FIXED_BUNDLE_ID"},
        {"operator": "is", "type": "recon", "name": "Application Version", "value": "PLACEHOLDER_VERSION"}]}],
    "standalone": true,
    "minimumOperatingSystem": "PLACEHOLDER_OS",
    "dependencies": [],
    "reboot": false,
    "capabilities": [{"operator": "greater than or equal", "type": "recon", "name": "Operating System Version", "value": "PLACEHOLDER_OS"}]
}"""


def token(server: Server, name: str = "ci", scope: str = "admin") -> str:
    made = server.pomona("token", "create", "--name", name, "--scope", scope)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def updater(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", UPDATER, "updater", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
def test_patch_server_updater_init_and_add(server: Server, tmp_path: Path) -> None:
    definition = tmp_path / "example.json"
    definition.write_text(fixture_text("example.json"))
    secret = token(server)
    refused = updater("init", str(definition), server.url + "/", env={"CONFIG_TOKEN": ""})
    assert refused.returncode == 4
    assert "send a token" in refused.stdout
    pushed = updater("init", str(definition), server.url + "/", env={"CONFIG_TOKEN": secret})
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    env = {
        "CONFIG_TOKEN": secret,
        "URL": server.url,
        "ID": "Example",
        "TEMPLATE": TEMPLATE,
        "FIXED_APP_NAME": "Example.app",
        "FIXED_BUNDLE_ID": "com.example.app",
        "FIXED_NAME": "Example",
    }
    added = updater("add", "2019-07-15", "2.2.0", "10.13", env=env)
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip().endswith("201"), added.stdout
    again = updater("add", "2019-07-15", "2.2.0", "10.13", env=env)
    assert "Version already on patch server" in again.stdout
    served = httpx.get(f"{server.url}/jamf/v1/patch/Example").json()
    assert served["currentVersion"] == "2.2.0"
    assert served["patches"][0]["releaseDate"] == "2019-07-15T00:00:00Z"


class PatchLib:
    """brysontyrrell/PatchCLI patchlib.api: PatchApiCore._request and PatchServer's methods."""

    class Error(Exception):
        pass

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url, self._token, self._session = url, token, requests.Session()

    def _request(self, uri: str, data: Any = None, delete: bool = False) -> Any:
        if data and not delete:
            method = "POST"
        elif delete and not data:
            method = "DELETE"
        else:
            method = "GET"
        headers = {}
        if data or delete:
            headers.update({"Authorization": f"Bearer {self._token}"} if self._token else {})
        resp = self._session.request(
            method=method, url=os.path.join(self.url, uri), headers=headers, json=data
        )
        try:
            resp.raise_for_status()
        except requests.HTTPError:
            if resp.status_code in (400, 401, 403, 404):
                raise self.Error(resp.status_code) from None
            raise self.Error("PatchApiException") from None
        return resp.json()

    def list_titles(self) -> Any:
        return self._request("jamf/v1/software")

    def get_title(self, title_id: str) -> Any:
        return self._request(f"jamf/v1/patch/{title_id}")

    def create_title(self, definition: Any) -> Any:
        return self._request("api/v1/title", data=definition)

    def update_version(self, title_id: str, version: Any) -> Any:
        return self._request(f"api/v1/title/{title_id}/version", data=version)


@pytest.mark.slow
def test_patchlib_client(server: Server) -> None:
    lib = PatchLib(server.url, token(server))
    created = lib.create_title(EXAMPLE)
    assert set(created) == {"database_id", "id"}
    assert created["id"] == "Example"
    assert isinstance(created["database_id"], int)
    newest = {**EXAMPLE["patches"][0], "version": "3.0"}
    assert lib.update_version("Example", newest) == {}
    assert [t["id"] for t in lib.list_titles()] == ["Example"]
    assert lib.get_title("Example")["currentVersion"] == "3.0"
    with pytest.raises(PatchLib.Error, match="400"):
        lib.create_title({**EXAMPLE, "id": "Bad", "patches": "nope"})
    with pytest.raises(PatchLib.Error, match="404"):
        lib.update_version("Missing", newest)
    with pytest.raises(PatchLib.Error, match="401"):
        PatchLib(server.url).create_title(EXAMPLE)


@pytest.mark.slow
def test_patchserver_curl_recipes(server: Server, tmp_path: Path) -> None:
    auth = {"Authorization": f"Bearer {token(server)}"}
    files = {"file": ("example.json", fixture_text("example.json"), "application/json")}
    created = httpx.post(f"{server.url}/api/v1/title", files=files, headers=auth)
    assert created.status_code == 201
    assert created.json() == {"database_id": 1, "id": "Example"}
    conflict = httpx.post(
        f"{server.url}/api/v1/title", content=fixture_text("example.json"), headers=auth
    )
    assert conflict.status_code == 409
    existing = httpx.post(
        f"{server.url}/api/v1/title/Example/version", json=EXAMPLE["patches"][0], headers=auth
    )
    assert existing.status_code == 409
    backup = httpx.get(f"{server.url}/api/v1/backup", headers=auth)
    assert zipfile.ZipFile(io.BytesIO(backup.content)).namelist() == [
        "patch_archive/Example.json",
        "pomona/titles.json",
    ]
    deleted = httpx.delete(f"{server.url}/api/v1/title/Example", headers=auth)
    assert deleted.status_code == 204
    assert deleted.content == b""
    restored = httpx.post(
        f"{server.url}/api/v1/restore",
        files={"file": ("patch_archive.zip", backup.content, "application/zip")},
        headers=auth,
    )
    assert restored.status_code == 201, restored.text
    assert restored.json()[0]["id"] == "Example"
    assert httpx.post(f"{server.url}/api/v1/token").status_code == 404  # off by default


@pytest.mark.slow
def test_kinobi_export_then_directory_import(
    server: Server, tmp_path: Path, corpus: list[Path]
) -> None:
    auth = {"Authorization": f"Bearer {token(server)}"}
    for path in corpus[:4]:
        assert (
            httpx.post(
                f"{server.url}/api/v1/titles", content=path.read_bytes(), headers=auth
            ).status_code
            == 201
        )
    # download_patch_source.sh: list ids from /software with grep and cut, then fetch each.
    script = r"""
    mkdir -p "$WD/patch"
    IFS=$'\n'
    IDS=( $(curl -s -X GET "$SRC/software" -H "Accept: application/json" --output - | grep '"id":' | cut -d \" -f 4) )
    unset IFS
    for ID in "${IDS[@]}" ; do
      curl -s -L -X GET "$SRC/patch/${ID}" -H "Accept: application/json" --output - > "$WD/patch/${ID}.json"
    done
    """
    run = subprocess.run(
        ["bash", "-c", script],
        env={**os.environ, "WD": str(tmp_path), "SRC": f"{server.url}/jamf/v1"},
        check=True,
        timeout=60,
    )
    assert run.returncode == 0
    exported = sorted((tmp_path / "patch").glob("*.json"))
    assert len(exported) == 4
    from pomona.titles.sources import from_directory

    content = from_directory(tmp_path / "patch", Settings(data_dir=tmp_path))
    assert sorted(i.document["id"] for i in content.items) == sorted(p.stem for p in exported)


@pytest.mark.slow
async def test_remote_import_refuses_loopback_until_allowed(
    server: Server, settings: Settings
) -> None:
    auth = {"Authorization": f"Bearer {token(server)}"}
    async with httpx.AsyncClient() as source:
        stored = await source.post(
            f"{server.url}/api/v1/titles", content=fixture_text("example.json"), headers=auth
        )
    assert stored.status_code == 201
    body = {"url": f"{server.url}/jamf/v1", "ids": None, "policy": "skip", "dryRun": False}
    for allowed, expected in (([], 422), (["127.0.0.0/8"], 202)):
        app: FastAPI = create_app(settings.model_copy(update={"fetch_allowed_networks": allowed}))
        async with app.router.lifespan_context(app):
            admin = await make_token(app, f"admin{len(allowed)}", "admin")
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://pomona.test"
            ) as http:
                answer = await http.post("/api/v1/imports/remote", json=body, headers=admin)
                assert answer.status_code == expected, answer.text
                if expected == 422:
                    assert "fetch_allowed_networks" in answer.text
                    assert (await http.get("/jamf/v1/software")).json() == []
                else:
                    # A job, run by the app's embedded queue: follow it to its report.
                    job = answer.json()
                    for _ in range(600):
                        if job["status"] in ("succeeded", "failed"):
                            break
                        await asyncio.sleep(0.05)
                        job = (await http.get(answer.headers["location"], headers=admin)).json()
                    assert job["status"] == "succeeded", job
                    assert job["result"]["created"] == 1
                    title = await http.get("/api/v1/titles/Example", headers=admin)
                    assert title.json()["id"] == "Example"


@pytest.mark.parametrize("value", ["3.0/1", "3.0\n1", " ", "3\u200b0"])
async def test_patchserver_new_version_refuses_an_unusable_version_as_400_version_invalid(
    client: httpx.AsyncClient, admin: dict[str, str], value: str
) -> None:
    created = await client.post(
        "/api/v1/title", content=fixture_text("example.json"), headers=admin
    )
    assert created.status_code == 201, created.text

    newest = {**EXAMPLE["patches"][0], "version": value}
    refused = await client.post("/api/v1/title/Example/version", json=newest, headers=admin)
    repaired = await client.post(
        "/api/v1/title/Example/version", json={**newest, "version": " 3.0\n"}, headers=admin
    )

    assert refused.status_code == 400, refused.text  # PatchServer's status for a bad document
    [error] = refused.json()["errors"]
    assert (error["path"], error["code"]) == ("/version", "version_invalid")
    assert repaired.status_code == 201, repaired.text
    found = await client.get("/api/v1/titles/Example/versions/3.0", headers=admin)
    assert found.status_code == 200, found.text
