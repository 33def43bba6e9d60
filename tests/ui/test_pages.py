"""Every page renders for the roles that may see it, and every action goes through the API's
checks: in process, fast; the browser journeys are in test_browser.py."""

from __future__ import annotations

import pyotp
import pytest
from fastapi import FastAPI

from pomona.ui.pages_http import CSP
from tests.accounts.conftest import PASSWORD
from tests.ui.conftest import Browser

PAGES = (
    "/ui/",
    "/ui/titles",
    "/ui/titles/-/new",
    "/ui/titles/Example",
    "/ui/titles/Example/ea",
    "/ui/titles/Example/requirements",
    "/ui/titles/Example/versions",
    "/ui/titles/Example/versions/2.1.0",
    "/ui/titles/Example/history",
    "/ui/titles/Example/preview",
    "/ui/titles/Example/subscription",
    "/ui/packages",
    "/ui/users",
    "/ui/tokens",
    "/ui/namespaces",
    "/ui/jobs",
    "/ui/audit",
    "/ui/backups",
    "/ui/webhooks",
    "/ui/notifications",
)


async def test_a_page_without_a_session_leads_to_the_sign_in_page(browser: Browser) -> None:
    answer = await browser.get("/ui/titles")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/signin?next=/ui/titles"
    page = await browser.get("/ui/signin")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CSP
    assert "<script>" not in page.text
    assert "style=" not in page.text


async def test_a_wrong_password_is_shown_on_the_password_field(browser: Browser) -> None:
    answer = await browser.sign_in("ada", "wrong password")
    assert answer.status_code == 401
    assert 'aria-describedby="f-password-err"' in answer.text
    assert "the username or the password is wrong" in answer.text


@pytest.mark.parametrize("path", PAGES)
async def test_every_page_renders_for_an_admin(browser: Browser, path: str) -> None:
    await browser.sign_in("ada")
    answer = await browser.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-security-policy"] == CSP
    assert "<h1" in answer.text


async def test_a_viewer_sees_no_write_buttons_and_the_server_refuses_anyway(
    browser: Browser,
) -> None:
    await browser.sign_in("val")
    versions = await browser.get("/ui/titles/Example/versions")
    assert versions.status_code == 200
    assert "Add version" not in versions.text
    assert "/-/move" not in versions.text
    refused = await browser.act("/ui/titles/Example/-/add", {"version": "9.0"})
    assert refused.status_code == 403
    assert "titles:write" in refused.text
    assert (await browser.get("/ui/users")).status_code == 403


async def test_an_action_without_the_csrf_token_is_refused(browser: Browser) -> None:
    await browser.sign_in("eve")
    answer = await browser.http.post(
        "/ui/titles/Example/-/add", data={"version": "9.0"}, headers={"HX-Request": "true"}
    )
    assert answer.status_code == 403
    assert "X-CSRF-Token" in answer.text


async def test_an_editor_adds_a_version_from_the_newest_and_reorders(browser: Browser) -> None:
    await browser.sign_in("eve")
    added = await browser.act("/ui/titles/Example/-/add", {"version": "3.0.0"})
    assert added.status_code == 204, added.text
    assert added.headers["hx-redirect"] == "/ui/titles/Example/versions"
    page = await browser.get("/ui/titles/Example/versions/3.0.0")
    assert page.status_code == 200
    moved = await browser.act(
        "/ui/titles/Example/-/move", {"version": "3.0.0", "direction": "down"}
    )
    assert moved.status_code == 204
    versions = await browser.get("/ui/titles/Example/versions")
    assert versions.text.index('data-version="2.1.0"') < versions.text.index('data-version="3.0.0"')


async def test_a_validation_problem_is_shown_next_to_its_field(browser: Browser) -> None:
    await browser.sign_in("eve")
    page = await browser.get("/ui/titles/Example")
    revision = page.text.split('name="revision" value="')[1].split('"')[0]
    answer = await browser.act(
        "/ui/titles/Example",
        {"revision": revision, "name": "", "publisher": "Example Corp", "currentVersion": "2.1.0"},
    )
    assert answer.status_code == 422
    assert 'id="f-name" name="name" type="text" value="" aria-invalid="true"' in answer.text
    assert 'id="f-name-err"' in answer.text


async def test_a_restore_reports_its_dry_run_first(browser: Browser) -> None:
    await browser.sign_in("ada")
    archive = await browser.get("/api/v1/backups")
    assert archive.status_code == 200
    files = {"file": ("patch_archive.zip", archive.content, "application/zip")}
    dry = await browser.act("/ui/backups/restore?dry_run=true", files=files)
    assert dry.status_code == 200, dry.text
    assert "Dry run: nothing was written" in dry.text
    assert "skipped" in dry.text
    done = await browser.act("/ui/backups/restore?dry_run=false&policy=replace", files=files)
    assert done.status_code == 200, done.text
    assert "Restored" in done.text
    assert "<td>replace</td>" in done.text


async def test_a_second_factor_is_asked_for_after_the_password(
    ui_app: FastAPI, browser: Browser
) -> None:
    second = ui_app.state.services.accounts.second_factor
    enrolment = await second.enrol("eve")
    recovery = await second.confirm("eve", pyotp.TOTP(enrolment.secret).now())
    asked = await browser.sign_in("eve")
    assert asked.status_code == 401
    assert 'name="code"' in asked.text
    assert "authenticator" in asked.text
    done = await browser.http.post(
        "/ui/signin",
        data={"username": "eve", "password": PASSWORD, "code": recovery[0], "next": "/ui/titles"},
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/ui/titles"


@pytest.mark.parametrize(
    ("asked", "lands"),
    [
        ("https://evil.example/steal", "/ui/"),
        ("//evil.example/ui/", "/ui/"),
        ("https://evil.example/ui/titles", "/ui/titles"),
        ("/ui/packages", "/ui/packages"),
    ],
)
async def test_signing_in_only_ever_leads_to_a_page_of_the_ui(
    browser: Browser, asked: str, lands: str
) -> None:
    done = await browser.http.post(
        "/ui/signin", data={"username": "val", "password": PASSWORD, "next": asked}
    )
    assert done.status_code == 303
    assert done.headers["location"] == lands
