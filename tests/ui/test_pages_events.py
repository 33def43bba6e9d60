"""The pages of webhooks, mail notifications and a title's subscription, through the same
requests htmx sends (fast, in process): every action, its refusals shown on the field, and the
titles list's source filters. The browser journeys are in test_browser_events.py."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from fastapi import FastAPI

from tests.events.receiver import receiving
from tests.subscriptions.conftest import Upstream, fixture_json, upstream  # noqa: F401
from tests.subscriptions.test_sync import newer
from tests.ui.conftest import Browser

SECRET = re.compile(r'<code id="secret" class="wrap">(whsec_[^<]+)</code>')


@pytest.fixture
def ui_settings() -> dict[str, Any]:
    # Receivers and upstreams listen on loopback; the tests run checks and deliveries
    # themselves, so no worker takes them first.
    return {"fetch_allowed_networks": ["127.0.0.0/8"], "queue_embedded_workers": 0}


def invalid_on(page: str, field: str) -> bool:
    return f'id="f-{field}" name="{field}"' in page and f'aria-describedby="f-{field}-err"' in page


async def test_webhook_endpoint_from_creation_to_deletion(browser: Browser) -> None:
    await browser.sign_in("ada")
    with receiving() as receiver:
        made = await browser.act(
            "/ui/webhooks",
            {
                "url": receiver.url,
                "kind": "signed",
                "eventTypes": "title.*, package.published",
                "enabled": "true",
                "description": "the test receiver",
            },
        )
        assert made.status_code == 201, made.text
        secret = SECRET.search(made.text)
        assert secret
        assert secret.group(1).startswith("whsec_")
        endpoint = re.search(r'href="/ui/webhooks/(ep_[0-9a-f]+)"', made.text)
        assert endpoint
        ep = endpoint.group(1)
        listed = await browser.get("/ui/webhooks")
        assert receiver.url in listed.text
        assert "title.*, package.published" in listed.text
        assert "whsec_" not in listed.text  # shown once

        # Refusals land on their field, with what was typed kept.
        bad = await browser.act("/ui/webhooks", {"url": "http://192.0.2.1/x", "eventTypes": "*"})
        assert bad.status_code == 422
        assert invalid_on(bad.text, "url")
        bad = await browser.act("/ui/webhooks", {"url": receiver.url, "eventTypes": "Titles.*"})
        assert bad.status_code == 422
        assert invalid_on(bad.text, "eventTypes")
        assert "Titles.*" in bad.text

        edited = await browser.act(
            f"/ui/webhooks/{ep}", {"url": receiver.url, "eventTypes": "*.failed", "enabled": ""}
        )
        assert edited.status_code == 204
        assert edited.headers["HX-Redirect"] == f"/ui/webhooks/{ep}"
        page = await browser.get(f"/ui/webhooks/{ep}")
        assert "disabled" in page.text
        assert 'value="*.failed"' in page.text
        assert "No deliveries yet." in page.text
        bad = await browser.act(f"/ui/webhooks/{ep}", {"url": receiver.url, "eventTypes": ""})
        assert bad.status_code == 422
        assert invalid_on(bad.text, "eventTypes")

        on = await browser.act(f"/ui/webhooks/{ep}/enabled", {"enabled": "true"})
        assert on.status_code == 204
        assert ">Disable<" in (await browser.get("/ui/webhooks")).text

        rotated = await browser.act(f"/ui/webhooks/{ep}/rotate")
        again = SECRET.search(rotated.text)
        assert rotated.status_code == 200
        assert again
        assert again.group(1) != secret.group(1)
        missing = await browser.act(f"/ui/webhooks/{ep}/deliveries/999/replay")
        assert missing.status_code == 404
        assert "has no delivery 999" in missing.text

        gone = await browser.act(f"/ui/webhooks/{ep}/delete")
        assert gone.status_code == 204
        assert (await browser.get(f"/ui/webhooks/{ep}")).status_code == 404


async def test_webhooks_are_for_admins(browser: Browser) -> None:
    await browser.sign_in("eve")
    assert (await browser.get("/ui/webhooks")).status_code == 403
    refused = await browser.act("/ui/webhooks", {"url": "https://example.com/", "eventTypes": "*"})
    assert refused.status_code == 403


async def test_mail_notifications_of_a_person(browser: Browser) -> None:
    await browser.sign_in("val")
    page = await browser.get("/ui/notifications")
    assert page.status_code == 200
    assert "None yet." in page.text
    added = await browser.act("/ui/notifications", {"pattern": "title.*", "mode": "daily"})
    assert added.status_code == 204
    page = await browser.get("/ui/notifications")
    assert "<code>title.*</code>" in page.text
    assert "daily" in page.text
    bad = await browser.act("/ui/notifications", {"pattern": "no spaces allowed", "mode": "daily"})
    assert bad.status_code == 422
    assert invalid_on(bad.text, "pattern")
    bad = await browser.act("/ui/notifications", {"pattern": "title.*", "mode": "weekly"})
    assert bad.status_code == 422
    assert "weekly" not in bad.text.split("<option")[0]
    pk = re.search(r"/ui/notifications/(\d+)/delete", page.text)
    assert pk
    assert (await browser.act(f"/ui/notifications/{pk.group(1)}/delete")).status_code == 204
    assert "None yet." in (await browser.get("/ui/notifications")).text


async def test_subscription_tab_subscribe_check_preview_hold_detach(
    browser: Browser,
    ui_app: FastAPI,
    upstream: Upstream,  # noqa: F811
) -> None:
    services = ui_app.state.services
    await browser.sign_in("eve")
    tab = await browser.get("/ui/titles/Example/subscription")
    assert tab.status_code == 200
    assert "This title is local" in tab.text
    assert 'aria-current="page">Subscription<' in tab.text

    bad = await browser.act("/ui/titles/Example/subscription", {"url": "http://192.0.2.1/a.json"})
    assert bad.status_code == 422
    assert invalid_on(bad.text, "url")
    bad = await browser.act(
        "/ui/titles/Example/subscription",
        {"url": upstream.base + "/v.json", "kind": "json", "options": "{not json"},
    )
    assert bad.status_code == 422
    assert invalid_on(bad.text, "options")

    url = upstream.serve("/jamf/v1/patch/Example", newer(fixture_json("definition.json"), "2.2.0"))
    done = await browser.act("/ui/titles/Example/subscription", {"url": url, "every": "3600"})
    assert done.status_code == 204, done.text
    sub = await services.subscriptions.of_title("Example")
    tab = await browser.get("/ui/titles/Example/subscription")
    assert "Follows a remote definition" in tab.text
    assert "not yet" in tab.text

    # Check now: a job the tab follows until its report is in.
    checking = await browser.act("/ui/titles/Example/subscription/check")
    assert checking.status_code == 200
    assert "Queued as job" in checking.text
    job = re.search(r"/subscription/check/([0-9a-f]+)", checking.text)
    assert job
    await services.jobs.run(job.group(1), services.subscriptions.check_job, last_attempt=True)
    report = await browser.get(f"/ui/titles/Example/subscription/check/{job.group(1)}")
    assert "Outcome: <strong>updated</strong>" in report.text
    assert report.headers["HX-Trigger"] == "subscription-checked"
    tab = await browser.get("/ui/titles/Example/subscription")
    assert "Newest version upstream</dt><dd>2.2.0" in tab.text
    assert "ETag</dt><dd><code>&#34;" in tab.text

    # Hold 2.1.0: the title goes back, and the list shows it behind upstream.
    held = await browser.act(
        "/ui/titles/Example/subscription/overrides",
        {"currentVersion": "2.1.0", "hideVersions": "1.9.7"},
    )
    assert held.status_code == 204, held.text
    tab = await browser.get("/ui/titles/Example/subscription")
    assert "(the title serves 2.1.0)" in tab.text
    assert "1.9.7" in tab.text
    behind = await browser.get("/ui/titles?behind=true")
    assert ">Example<" in behind.text
    assert "(behind)" in behind.text
    assert ">Example<" in (await browser.get("/ui/titles?source=subscribed")).text
    assert ">Example<" not in (await browser.get("/ui/titles?source=local")).text
    assert ">Example<" not in (await browser.get("/ui/titles?failing=true")).text

    # The preview says what the next check would do, and writes nothing.
    upstream.serve(
        "/jamf/v1/patch/Example", newer(newer(fixture_json("definition.json"), "2.2.0"), "2.3.0")
    )
    await browser.act(
        "/ui/titles/Example/subscription/overrides", {"currentVersion": "", "hideVersions": ""}
    )
    preview = await browser.act("/ui/titles/Example/subscription/check", {"dry_run": "true"})
    job = re.search(r"/subscription/check/([0-9a-f]+)", preview.text)
    assert job
    await services.jobs.run(job.group(1), services.subscriptions.check_job, last_attempt=True)
    report = await browser.get(f"/ui/titles/Example/subscription/check/{job.group(1)}")
    assert "Preview of the next check" in report.text
    assert "nothing was written" in report.text
    assert "2.3.0" in report.text
    assert (await services.titles.get("Example")).title.currentVersion == "2.2.0"

    # A failing upstream shows on the tab and in the list's filter.
    upstream.routes.clear()
    await services.subscriptions.check(sub.pk)
    assert "<strong>failing</strong>" in (await browser.get("/ui/titles/Example/subscription")).text
    assert ">Example<" in (await browser.get("/ui/titles?failing=true")).text

    assert (await browser.act("/ui/titles/Example/subscription/detach")).status_code == 204
    tab = await browser.get("/ui/titles/Example/subscription")
    assert "(detached: the title is local)" in tab.text
    assert ">Re-attach<" in tab.text
    assert ">Example<" in (await browser.get("/ui/titles?source=local")).text
    assert (await browser.act("/ui/titles/Example/subscription/attach")).status_code == 204
    assert (await browser.act("/ui/titles/Example/subscription/delete")).status_code == 204
    assert "This title is local" in (await browser.get("/ui/titles/Example/subscription")).text


async def test_a_viewer_reads_the_tab_but_cannot_act(browser: Browser, ui_app: FastAPI) -> None:
    await browser.sign_in("val")
    tab = await browser.get("/ui/titles/Example/subscription")
    assert tab.status_code == 200
    assert "<form" not in tab.text.split('class="tabs"')[1]
    refused = await browser.act(
        "/ui/titles/Example/subscription", {"url": "https://example.com/x.json"}
    )
    assert refused.status_code == 403


async def test_the_event_stream_takes_the_session_cookie(browser: Browser, ui_app: FastAPI) -> None:
    """The pages' EventSource sends the session cookie and no token: the stream takes it."""
    await browser.sign_in("val")
    answer = await browser.get("/api/v1/events/stream?lastEventId=0&type=title.*")
    assert answer.status_code == 200, answer.text
    frames = [line for line in answer.text.splitlines() if line.startswith("event: ")]
    assert "event: title.created" in frames
    data = next(line for line in answer.text.splitlines() if line.startswith("data: "))
    assert orjson.loads(data[6:])["subject"] == "title:Example"
