"""The peers and Jamf Pro pages, and where a package is, in process: each action goes through
the API's services, body models and permission (``admin``), problems land on their fields, and
the jobs the pages start are followed to their end. The browser journeys are in
test_browser_sites.py."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from pomona.audit.service import Who
from pomona.replication.invitations import read_code
from tests.fixtures.jamf_pro_run import Simulator
from tests.jamf.conftest import jamf, jamf_settings  # noqa: F401 (a fixture)
from tests.packages.conftest import s3_endpoint  # noqa: F401 (a fixture)
from tests.ui.conftest import Browser

SITE = "https://pomona-a.example.org"
JOB = re.compile(r"\?job=([0-9a-f]+)")


@pytest.fixture
def ui_settings(tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    """This site has a URL to invite with; the tests that ask for ``jamf`` reach its simulator."""
    data = tmp_path / "data"
    if "jamf" in request.fixturenames:
        simulator = request.getfixturevalue("jamf")
        return jamf_settings(simulator, data, replication_site_url=SITE)
    return {"data_dir": data, "replication_site_url": SITE, "queue_retry_delay": 0.2}


async def followed(browser: Browser, answer: Any, seconds: float = 60) -> str:
    """The page a job leads to, once the job it follows has ended."""
    assert answer.status_code == 204, answer.text
    job = JOB.search(answer.headers["hx-redirect"])
    assert job, answer.headers
    deadline = time.monotonic() + seconds
    while True:
        page = await browser.get(f"/ui/jobs/{job.group(1)}")
        assert page.status_code == 200, page.text
        if 'aria-busy="true"' not in page.text:
            return page.text
        assert time.monotonic() < deadline, page.text
        await asyncio.sleep(0.1)


async def a_peer(app: FastAPI) -> str:
    """A peer recorded as a join would record it (its site is not running)."""
    peers = app.state.services.replication.peers
    code = read_code((await peers.invite(Who("test"))).code)
    joined = await peers.joined(
        code, "a" * 32, "00" * 32, {"peerId": "b" * 32, "name": "hq"}, Who("test")
    )
    return str(joined.peer_id)


async def test_the_pages_are_for_admins_and_the_server_refuses_others(browser: Browser) -> None:
    await browser.sign_in("val")
    home = await browser.get("/ui/")
    assert 'href="/ui/peers"' not in home.text
    assert 'href="/ui/jamf"' not in home.text
    for path in ("/ui/peers", "/ui/jamf"):
        assert (await browser.get(path)).status_code == 403
    assert (await browser.act("/ui/peers/invitations")).status_code == 403
    refused = await browser.act("/ui/jamf", {"name": "prod", "url": "https://x.example"})
    assert refused.status_code == 403
    assert "admin" in refused.text


async def test_an_invitation_shows_its_code_once_with_its_expiry(browser: Browser) -> None:
    await browser.sign_in("ada")
    page = await browser.get("/ui/peers")
    assert page.status_code == 200
    assert "No peers yet" in page.text
    made = await browser.act("/ui/peers/invitations", {"hours": "2"})
    assert made.status_code == 201, made.text
    code = re.search(r'<code id="invitation-code" class="wrap">([^<]+)</code>', made.text)
    assert code
    assert read_code(code.group(1)).url == SITE
    assert "until" in made.text
    assert "UTC" in made.text
    assert code.group(1) not in (await browser.get("/ui/peers")).text
    too_long = await browser.act("/ui/peers/invitations", {"hours": "1000"})
    assert too_long.status_code == 422
    assert "/hours" in too_long.text


async def test_a_bad_pairing_code_is_shown_on_its_field(browser: Browser) -> None:
    await browser.sign_in("ada")
    answer = await browser.act("/ui/peers/join", {"invitation": "not a code"})
    assert answer.status_code == 422
    assert 'aria-describedby="f-invitation-err"' in answer.text
    assert "this is not a pairing code" in answer.text
    assert ">not a code</textarea>" in answer.text


async def test_a_peer_is_edited_rotated_and_unpaired(browser: Browser, ui_app: FastAPI) -> None:
    peer_id = await a_peer(ui_app)
    await browser.sign_in("ada")
    page = await browser.get("/ui/peers")
    assert "hq" in page.text
    assert f'id="peer-{peer_id}"' in page.text
    wrong = await browser.act(f"/ui/peers/{peer_id}", {"rateLimit": "10", "window": "late"})
    assert wrong.status_code == 422
    assert f'aria-describedby="f-peers-{peer_id}-window-err"' in wrong.text
    assert 'value="late"' in wrong.text
    saved = await browser.act(
        f"/ui/peers/{peer_id}", {"rateLimit": "1000", "window": "22:00-06:00"}
    )
    assert saved.status_code == 204, saved.text
    info = (await ui_app.state.services.replication.peers.all())[0]
    assert (info.rate_limit, info.window, info.notify) == (1000, "22:00-06:00", False)

    rotated = await followed(browser, await browser.act(f"/ui/peers/{peer_id}/rotate"))
    assert "failed" in rotated
    assert "could not be reached" in rotated

    assert (await browser.act(f"/ui/peers/{peer_id}/unpair")).status_code == 204
    assert "Forget hq" in (await browser.get("/ui/peers")).text
    assert (await browser.act(f"/ui/peers/{peer_id}/unpair")).status_code == 204
    assert "No peers yet" in (await browser.get("/ui/peers")).text


async def test_a_connection_is_added_checked_pushed_to_and_deleted(
    browser: Browser,
    ui_app: FastAPI,
    jamf: Simulator,  # noqa: F811 (the imported fixture)
) -> None:
    await browser.sign_in("ada")
    neither = await browser.act("/ui/jamf", {"name": "prod", "url": jamf.url})
    assert neither.status_code == 422
    assert "give clientId and clientSecret, or username and password" in neither.text
    bad = await browser.act(
        "/ui/jamf",
        {"name": "Prod!", "url": "ftp://x", "clientId": "c", "clientSecret": "hidden-1"},
    )
    assert bad.status_code == 422
    assert 'aria-describedby="f-name-err"' in bad.text
    assert 'aria-describedby="f-url-err"' in bad.text
    assert "hidden-1" not in bad.text  # a secret typed is never sent back
    body = {"name": "prod", "url": jamf.url, "clientId": "pomona-client"}
    added = await browser.act("/ui/jamf", {**body, "clientSecret": "client-secret"})
    assert added.status_code == 204, added.text
    page = await browser.get("/ui/jamf")
    assert "pomona-client" in page.text
    assert "client-secret" not in page.text

    report = await followed(browser, await browser.act("/ui/jamf/prod/check"))
    assert f"Jamf Pro <strong>{jamf.state.version}</strong>" in report
    assert "Privileges by feature" in report

    answer = await browser.http.put(
        "/api/v1/packages/App.pkg", content=b"x" * 4096, headers={"X-CSRF-Token": browser.csrf}
    )
    assert answer.status_code == 201, answer.text
    before = await browser.get("/ui/packages/App.pkg")
    assert "not pushed" in before.text
    assert "Push to Jamf Pro" in before.text
    pushed = await browser.act("/ui/packages/App.pkg/push", {"connection": "prod"})
    assert pushed.status_code == 204, pushed.text
    deadline = time.monotonic() + 60
    while "succeeded" not in (where := (await browser.get("/ui/packages/App.pkg/where")).text):
        assert "failed" not in where, where
        assert time.monotonic() < deadline, where
        await asyncio.sleep(0.2)
    assert 'aria-busy="true"' not in where
    assert "App.pkg" in (await browser.get("/ui/jamf")).text  # the latest pushes

    missing = await browser.act("/ui/packages/App.pkg/push", {"connection": "nope"})
    assert missing.status_code == 404
    assert (await browser.act("/ui/jamf/prod/delete")).status_code == 204
    assert "No connections yet" in (await browser.get("/ui/jamf")).text


async def test_a_package_is_promoted_and_a_viewer_sees_where_it_is_but_no_jamf(
    browser: Browser,
) -> None:
    await browser.sign_in("ada")
    answer = await browser.http.put(
        "/api/v1/packages/Tool.pkg", content=b"y" * 100, headers={"X-CSRF-Token": browser.csrf}
    )
    assert answer.status_code == 201, answer.text
    promoted = await browser.act("/ui/packages/Tool.pkg/promote", {"stage": "prod"})
    assert promoted.status_code == 204, promoted.text
    again = await browser.act("/ui/packages/Tool.pkg/promote", {"stage": "prod"})
    assert again.status_code == 422
    page = await browser.get("/ui/packages/Tool.pkg")
    assert 'value="prod"' in page.text  # the stage tags field

    await browser.sign_in("val")
    seen = await browser.get("/ui/packages/Tool.pkg")
    assert "Where it is" in seen.text
    assert "No peer has it" in seen.text
    assert "Push to Jamf Pro" not in seen.text
    assert "<caption>Jamf Pro" not in seen.text
    assert "Promote" not in seen.text
    refused = await browser.act("/ui/packages/Tool.pkg/push", {"connection": "prod"})
    assert refused.status_code == 403
