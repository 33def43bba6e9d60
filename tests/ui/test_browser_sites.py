"""The peers and Jamf Pro pages in a real browser (Debian's Chromium driven by Playwright)
against a real ``pomona serve`` that reaches the Jamf Pro simulator: an invitation made, a
connection added and checked, a package pushed and followed on its page; an axe-core scan of
each page. The browser and the helpers are test_browser.py's."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from bench.sites import sites

from tests.conftest import Server
from tests.fixtures.jamf_pro_run import Simulator, running
from tests.jamf.conftest import server_env
from tests.packages.conftest import new_bucket, payload, s3_endpoint  # noqa: F401 (a fixture)
from tests.ui.test_browser import (  # noqa: F401 (fixtures)
    add_people,
    axe_clean,
    chromium,
    page,
    playwright_api,
    sign_in,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def simulator(s3_endpoint: str) -> Iterator[Simulator]:  # noqa: F811 (the imported fixture)
    with running(s3_endpoint, new_bucket(s3_endpoint)) as started:
        yield started


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, simulator: Simulator) -> Iterator[list[Server]]:
    """Two sites, hq and branch, each at its own URL (peers reach each other on loopback); hq
    may reach the simulator and has the package App.pkg in its store."""
    jamf = {k.removeprefix("POMONA_").lower(): v for k, v in server_env(simulator).items()}
    root = tmp_path_factory.mktemp("ui-sites")
    with sites(root, ("hq", jamf), ("branch", {})) as started:
        servers = [Server(s.url, s.folder / "pomona-data", s.env, s.process) for s in started]
        token = add_people(servers[0])
        add_people(servers[1])
        put = httpx.put(
            f"{servers[0].url}/api/v1/packages/App.pkg",
            content=payload(300_000),
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert put.status_code == 201, put.text
        yield servers


@pytest.fixture(scope="module")
def server(both: list[Server]) -> Server:
    """The site the ``page`` fixture opens: hq."""
    return both[0]


def test_two_sites_are_paired_through_their_peers_pages(
    page: object,  # noqa: F811
    chromium: object,  # noqa: F811
    both: list[Server],
) -> None:
    """An invitation made on hq, a bad code refused on its field, then branch joins with the
    code: each page shows the other site paired on both sides; branch unpairs."""
    sign_in(page, "ada")
    page.get_by_role("link", name="Peers").click()  # type: ignore[attr-defined]
    page.wait_for_url("**/ui/peers")  # type: ignore[attr-defined]
    axe_clean(page)
    page.get_by_role("button", name="Create a pairing code").click()  # type: ignore[attr-defined]
    shown = page.locator("#invitation-code")  # type: ignore[attr-defined]
    shown.wait_for()
    code = shown.inner_text()
    assert code.startswith("pmr1.")
    assert "UTC" in page.locator(".notice").inner_text()  # type: ignore[attr-defined]
    axe_clean(page)

    context = chromium.new_context(base_url=both[1].url)  # type: ignore[attr-defined]
    branch = context.new_page()
    branch.on("dialog", lambda dialog: dialog.accept())
    sign_in(branch, "ada")
    branch.goto("/ui/peers")
    field = branch.get_by_label("The pairing code the other site made")
    field.fill("pmr1.damaged")
    branch.get_by_role("button", name="Join", exact=True).click()
    branch.locator("#f-invitation-err").wait_for()
    assert "damaged" in branch.locator("#f-invitation-err").inner_text()
    axe_clean(branch)
    field.fill(code)
    branch.get_by_role("button", name="Join", exact=True).click()
    branch.get_by_text("Paired with hq").wait_for(timeout=60_000)
    branch.goto("/ui/peers")
    assert sides(branch, "hq") == ["paired", "paired"]
    axe_clean(branch)

    page.goto("/ui/peers")  # type: ignore[attr-defined]
    assert sides(page, "branch") == ["paired", "paired"]
    axe_clean(page)

    branch.get_by_role("button", name="Unpair hq").click()
    playwright_api.expect(branch.get_by_role("button", name="Forget hq")).to_be_visible()
    context.close()


def sides(tab: object, peer: str) -> list[str]:
    """The peer's state on this side and on its own, as its row on the peers page shows."""
    cells = tab.locator("tbody tr", has_text=peer).first.locator("td")  # type: ignore[attr-defined]
    return [cells.nth(1).inner_text(), cells.nth(2).inner_text()]


def test_a_connection_is_added_checked_and_a_package_pushed(
    page: object,  # noqa: F811
    simulator: Simulator,
) -> None:
    sign_in(page, "ada")
    page.goto("/ui/jamf")  # type: ignore[attr-defined]
    axe_clean(page)
    page.get_by_label("Name (lower-case").fill("prod")  # type: ignore[attr-defined]
    page.get_by_label("Jamf Pro URL").fill(simulator.url)  # type: ignore[attr-defined]
    page.get_by_label("Client ID").fill("pomona-client")  # type: ignore[attr-defined]
    page.get_by_label("Client secret").fill("client-secret")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Add the connection").click()  # type: ignore[attr-defined]
    check = page.get_by_role("button", name="Check prod")  # type: ignore[attr-defined]
    check.wait_for()
    assert "client-secret" not in page.content()  # type: ignore[attr-defined]
    check.click()
    report = page.get_by_text(f"Jamf Pro {simulator.state.version} at prod: signed in.")  # type: ignore[attr-defined]
    report.wait_for(timeout=60_000)
    assert page.get_by_role("heading", name="Checking prod: done").is_visible()  # type: ignore[attr-defined]
    axe_clean(page)

    page.goto("/ui/packages/App.pkg")  # type: ignore[attr-defined]
    axe_clean(page)
    page.get_by_label("Connection").select_option("prod")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Push to Jamf Pro").click()  # type: ignore[attr-defined]
    row = page.locator("#where tr", has_text="prod")  # type: ignore[attr-defined]
    playwright_api.expect(row).to_contain_text("succeeded", timeout=60_000)
    playwright_api.expect(row).to_contain_text("300,000 of 300,000")
    axe_clean(page)

    page.get_by_label("Add the stage").fill("prod")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Promote").click()  # type: ignore[attr-defined]
    tags = page.get_by_label("Stage tags", exact=False)  # type: ignore[attr-defined]
    playwright_api.expect(tags).to_have_value("prod")
    page.goto("/ui/jamf")  # type: ignore[attr-defined]
    assert re.search(r"App\.pkg\s+prod\s+succeeded", page.locator("table").last.inner_text())  # type: ignore[attr-defined]


def test_a_viewer_has_neither_page(page: object) -> None:  # noqa: F811
    sign_in(page, "val")
    assert page.get_by_role("link", name="Peers").count() == 0  # type: ignore[attr-defined]
    assert page.get_by_role("link", name="Jamf Pro").count() == 0  # type: ignore[attr-defined]
    page.goto("/ui/packages/App.pkg")  # type: ignore[attr-defined]
    page.get_by_role("heading", name="Where it is").wait_for()  # type: ignore[attr-defined]
    assert page.get_by_role("button", name="Push to Jamf Pro").count() == 0  # type: ignore[attr-defined]
    axe_clean(page)
