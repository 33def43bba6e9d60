"""Webhooks, a title's subscription and live updates in a real browser (Debian's Chromium
through Playwright) against a real ``pomona serve``: an endpoint made against a loopback
receiver, its delivery log with a failed attempt, the retry and a replay; a title subscribed to
a definition served on loopback, checked now and previewed; a change made elsewhere appearing
in an open page without a reload; and an axe-core scan of each new page.

The browser, the sign-in and the scan are test_browser.py's; the server here has no directory
behind it, and lets Pomona reach loopback (the receiver, the upstream)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.accounts.conftest import PASSWORD
from tests.conftest import Server, fixture_text, serving
from tests.events.receiver import receiving
from tests.subscriptions.conftest import Upstream, fixture_json, upstream  # noqa: F401
from tests.subscriptions.test_sync import newer
from tests.ui import test_browser as shared
from tests.ui.test_browser import axe_clean, playwright_api, sign_in

pytestmark = pytest.mark.slow
# test_browser.py's browser (one for the module) and its pages, on this module's server.
chromium = shared.chromium
page = shared.page


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        "POMONA_FETCH_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
        "POMONA_WEBHOOK_POLL_SECONDS": "0.2",
        "POMONA_WEBHOOK_RETRY_SCALE": "0.001",
        "POMONA_EVENTS_STREAM_POLL_SECONDS": "0.2",
    }
    with serving(tmp_path_factory.mktemp("ui-events"), **env) as running:
        done = running.pomona(
            "users", "create", "ada", "--admin", "--password-stdin", input=PASSWORD + "\n"
        )
        assert done.returncode == 0, done.stdout + done.stderr
        yield running


@pytest.fixture(scope="module")
def api(server: Server) -> Iterator[httpx.Client]:
    """The HTTP API with an admin token: the changes made "elsewhere" while a page is open."""
    made = server.pomona("token", "create", "--name", "elsewhere", "--scope", "admin")
    assert made.returncode == 0, made.stderr
    headers = {"Authorization": f"Bearer {made.stdout.strip()}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        yield client


def create_title(api: httpx.Client, title_id: str) -> None:
    document = {**json.loads(fixture_text("example.json")), "id": title_id}
    answer = api.post("/api/v1/titles", json=document)
    assert answer.status_code == 201, answer.text


def test_webhook_endpoint_delivery_log_and_replay(page: object, api: httpx.Client) -> None:
    with receiving() as receiver:
        # The first attempt is refused: the log shows it, then the retry that succeeds.
        receiver.answer = lambda n, _r: (
            (500, {}, b"boom, try later") if n == 0 else (200, {}, b"ok")
        )
        sign_in(page, "ada")
        page.goto("/ui/webhooks")  # type: ignore[attr-defined]
        axe_clean(page)
        page.get_by_label("URL").fill(receiver.url)  # type: ignore[attr-defined]
        page.get_by_label("Events:", exact=False).fill("title.created")  # type: ignore[attr-defined]
        page.get_by_role("button", name="Create the endpoint").click()  # type: ignore[attr-defined]
        secret = page.wait_for_selector("#secret")  # type: ignore[attr-defined]
        assert secret.inner_text().startswith("whsec_")
        axe_clean(page)
        page.locator("div[role=alert] a").click()  # type: ignore[attr-defined]
        page.wait_for_selector("text=No deliveries yet.")  # type: ignore[attr-defined]

        # The event comes from elsewhere; the open log shows its delivery as it happens.
        create_title(api, "Hooked")
        log = page.locator("#deliveries")  # type: ignore[attr-defined]
        playwright_api.expect(log).to_contain_text("status 500", timeout=20_000)
        playwright_api.expect(log).to_contain_text("boom, try later")
        playwright_api.expect(log).to_contain_text("delivered", timeout=20_000)
        playwright_api.expect(log).to_contain_text("status 200")
        axe_clean(page)
        assert len(receiver.wait_for(2)) == 2

        page.get_by_role("button", name="Replay delivery", exact=False).click()  # type: ignore[attr-defined]
        received = receiver.wait_for(3)
        assert len({r.headers["webhook-id"] for r in received}) == 1  # the same delivery again
        row = page.locator("#deliveries tbody tr").first  # type: ignore[attr-defined]
        playwright_api.expect(row.locator("li")).to_have_count(3, timeout=20_000)


def test_subscription_check_now_and_preview(
    page: object,
    api: httpx.Client,
    upstream: Upstream,  # noqa: F811
) -> None:
    create_title(api, "Example")
    url = upstream.serve("/patch/Example", newer(fixture_json("definition.json"), "2.2.0"))
    sign_in(page, "ada")
    page.goto("/ui/titles/Example/subscription")  # type: ignore[attr-defined]
    axe_clean(page)
    page.get_by_label("URL").fill(url)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Subscribe").click()  # type: ignore[attr-defined]
    status = page.locator("#sub-status")  # type: ignore[attr-defined]
    # The first check, queued by the subscribe, shows up by itself.
    playwright_api.expect(status).to_contain_text("last good", timeout=20_000)
    playwright_api.expect(page.locator("#title-head")).to_contain_text("revision 2")  # type: ignore[attr-defined]

    upstream.serve(
        "/patch/Example", newer(newer(fixture_json("definition.json"), "2.2.0"), "2.3.0")
    )
    page.get_by_role("button", name="Preview the next check").click()  # type: ignore[attr-defined]
    check = page.locator("#check")  # type: ignore[attr-defined]
    playwright_api.expect(check).to_contain_text("nothing was written", timeout=20_000)
    playwright_api.expect(check).to_contain_text("2.3.0")
    axe_clean(page)
    page.get_by_role("button", name="Check now").click()  # type: ignore[attr-defined]
    playwright_api.expect(check).to_contain_text("Outcome: updated", timeout=20_000)
    playwright_api.expect(status).to_contain_text("2.3.0", timeout=20_000)
    assert api.get("/jamf/v1/patch/Example").json()["currentVersion"] == "2.3.0"

    page.goto("/ui/titles?source=subscribed")  # type: ignore[attr-defined]
    page.wait_for_selector("td a:text-is('Example')")  # type: ignore[attr-defined]
    axe_clean(page)


def test_a_change_made_elsewhere_appears_without_a_reload(page: object, api: httpx.Client) -> None:
    sign_in(page, "ada")
    page.goto("/ui/titles")  # type: ignore[attr-defined]
    page.evaluate("window.sameDocument = true")  # type: ignore[attr-defined]
    # The stream is open once the page has asked for it.
    page.wait_for_selector("html[data-live-state=open]", state="attached")  # type: ignore[attr-defined]
    create_title(api, "LiveOne")
    page.wait_for_selector("#title-rows td a:text-is('LiveOne')", timeout=20_000)  # type: ignore[attr-defined]
    assert page.evaluate("window.sameDocument") is True  # type: ignore[attr-defined]


def test_the_notifications_page_passes_axe(page: object) -> None:
    sign_in(page, "ada")
    page.goto("/ui/notifications")  # type: ignore[attr-defined]
    page.get_by_label("An event type", exact=False).fill("*.failed")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Subscribe").click()  # type: ignore[attr-defined]
    page.wait_for_selector("td code:text-is('*.failed')")  # type: ignore[attr-defined]
    axe_clean(page)
    page.get_by_label("An event type", exact=False).fill("not a pattern")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Subscribe").click()  # type: ignore[attr-defined]
    page.wait_for_selector("#f-pattern-err")  # type: ignore[attr-defined]
    axe_clean(page)
