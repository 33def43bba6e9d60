"""The web UI in a real browser: Debian's Chromium driven by Playwright against a real
``pomona serve``, through the main journeys, with an axe-core scan of every page.

One browser for the whole module (started once), one server with a directory (slapd) behind
it. Screenshots of the pages go to docs/ui/ for docs/ui.md.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.accounts.conftest import PASSWORD
from tests.conftest import Server, fixture_text, serving
from tests.fixtures.slapd import PASSWORDS, Slapd, group

playwright_api = pytest.importorskip("playwright.sync_api")
axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "ui"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail("chromium is not installed (.ci/run installs it)")
        pytest.skip("chromium is not installed: apt-get install -y chromium")
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, slapd: Slapd) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("ui-server")
    ldap = slapd.settings()
    env = {
        f"POMONA_{key.upper()}": str(value)
        for key, value in ldap.model_dump(include=set(LDAP_KEYS)).items()
        if value is not None
    }
    env["POMONA_GROUP_ROLES"] = json.dumps({group("editors"): ["editor"]})
    env["POMONA_LDAP_BIND_PASSWORD"] = ldap.ldap_bind_password.get_secret_value()
    with serving(folder, **env) as running:
        add_people(running)
        yield running


def add_people(running: Server) -> str:
    """An admin (ada) and a viewer (val), and a service token with ``admin``: the token."""
    for name, role in (("ada", "--admin"), ("val", "--role=viewer")):
        done = running.pomona(
            "users", "create", name, role, "--password-stdin", input=PASSWORD + "\n"
        )
        assert done.returncode == 0, done.stdout + done.stderr
    # Token authentication on: a service token exists (PatchServer's UI broke at this).
    done = running.pomona("token", "create", "--name", "ci", "--scope", "admin")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


LDAP_KEYS = (
    "ldap_url",
    "ldap_ca_file",
    "ldap_bind_dn",
    "ldap_user_base",
    "ldap_group_base",
    "ldap_group_search",
    "ldap_timeout_seconds",
)


@pytest.fixture
def page(chromium: object, server: Server) -> Iterator[object]:
    context = chromium.new_context(base_url=server.url, viewport={"width": 1024, "height": 640})  # type: ignore[attr-defined]
    tab = context.new_page()
    tab.on("dialog", lambda dialog: dialog.accept())
    yield tab
    context.close()


def sign_in(page: object, username: str, password: str = PASSWORD) -> None:
    page.goto("/ui/signin")  # type: ignore[attr-defined]
    page.get_by_label("Username").fill(username)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(password)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    page.wait_for_url("**/ui/")  # type: ignore[attr-defined]


def axe_clean(page: object) -> None:
    results = axe_module.Axe().run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], bad


# The pages docs/ui.md shows; the others are scanned but not pictured, to keep the docs small.
PICTURED = {
    "signin",
    "dashboard",
    "titles",
    "field-error",
    "versions",
    "history",
    "packages",
    "package",
    "backups",
    "phone",
}


def shot(page: object, name: str) -> None:
    """The pictures of docs/ui.md, taken when ``POMONA_UI_SCREENSHOTS=1`` asks for them (so
    that a test run leaves a clone's tracked files as they were)."""
    if name not in PICTURED or os.environ.get("POMONA_UI_SCREENSHOTS") != "1":
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))  # type: ignore[attr-defined]


def test_local_sign_in_and_every_page_passes_axe(page: object) -> None:
    page.goto("/")  # type: ignore[attr-defined]
    page.wait_for_url("**/ui/signin**")  # type: ignore[attr-defined]
    axe_clean(page)
    shot(page, "signin")
    sign_in(page, "ada")
    for path, name in (
        ("/ui/", "dashboard"),
        ("/ui/titles", "titles"),
        ("/ui/titles/-/new", "new-title"),
        ("/ui/packages", "packages"),
        ("/ui/users", "users"),
        ("/ui/tokens", "tokens"),
        ("/ui/namespaces", "namespaces"),
        ("/ui/jobs", "jobs"),
        ("/ui/audit", "audit"),
        ("/ui/backups", "backups"),
    ):
        page.goto(path)  # type: ignore[attr-defined]
        axe_clean(page)
        shot(page, name)


def test_directory_sign_in(page: object) -> None:
    sign_in(page, "bob", PASSWORDS["bob"])
    assert page.get_by_role("button", name="Sign out bob").is_visible()  # type: ignore[attr-defined]


def test_title_journey(page: object, tmp_path: Path) -> None:
    """Create from a file, fix a problem shown on its field, add a version from the newest,
    reorder, roll back; axe on each tab."""
    sign_in(page, "ada")
    document = json.loads(fixture_text("example.json"))
    document["id"] = document["name"] = "Journey"
    source = tmp_path / "journey.json"
    source.write_text(json.dumps(document))
    page.goto("/ui/titles/-/new")  # type: ignore[attr-defined]
    page.get_by_label("Patch definition (.json)").set_input_files(str(source))  # type: ignore[attr-defined]
    page.get_by_role("button", name="Create from file").click()  # type: ignore[attr-defined]
    page.wait_for_url("**/ui/titles/Journey")  # type: ignore[attr-defined]
    axe_clean(page)
    shot(page, "title")

    page.get_by_label("Name", exact=True).fill("")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Save").click()  # type: ignore[attr-defined]
    error = page.locator("#f-name-err")  # type: ignore[attr-defined]
    error.wait_for()
    assert page.get_by_label("Name", exact=True).get_attribute("aria-invalid") == "true"  # type: ignore[attr-defined]
    shot(page, "field-error")
    page.get_by_label("Name", exact=True).fill("Journey App")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Save").click()  # type: ignore[attr-defined]
    page.wait_for_selector("#f-name-err", state="detached")  # type: ignore[attr-defined]
    assert page.get_by_label("Name", exact=True).input_value() == "Journey App"  # type: ignore[attr-defined]

    for tab in ("ea", "requirements", "preview"):
        page.goto(f"/ui/titles/Journey/{tab}")  # type: ignore[attr-defined]
        axe_clean(page)
        shot(page, f"title-{tab}")

    page.goto("/ui/titles/Journey/versions")  # type: ignore[attr-defined]
    newest = page.locator("ol#versions li").first.get_attribute("data-version")  # type: ignore[attr-defined]
    page.get_by_label("New version").fill("9.0.0")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Add version").click()  # type: ignore[attr-defined]
    page.wait_for_selector('ol#versions li[data-version="9.0.0"]')  # type: ignore[attr-defined]
    assert _order(page)[:2] == ["9.0.0", newest]
    axe_clean(page)
    shot(page, "versions")
    page.get_by_role("button", name="Move 9.0.0 down").click()  # type: ignore[attr-defined]
    first = page.locator("ol#versions li").first  # type: ignore[attr-defined]
    playwright_api.expect(first).to_have_attribute("data-version", newest)
    assert _order(page)[:2] == [newest, "9.0.0"]
    # Drag and drop: 9.0.0 back to the top.
    with page.expect_response("**/-/order") as saved:  # type: ignore[attr-defined]
        page.locator('li[data-version="9.0.0"]').drag_to(first)  # type: ignore[attr-defined]
    assert saved.value.status == 204
    playwright_api.expect(first).to_have_attribute("data-version", "9.0.0")
    page.reload()  # type: ignore[attr-defined]
    assert _order(page)[0] == "9.0.0"

    page.goto("/ui/titles/Journey/versions/9.0.0")  # type: ignore[attr-defined]
    axe_clean(page)
    page.goto("/ui/titles/Journey/history")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Compare").click()  # type: ignore[attr-defined]
    page.wait_for_selector("table.diff")  # type: ignore[attr-defined]
    axe_clean(page)
    shot(page, "history")
    page.get_by_role("button", name="Roll back to revision 1").click()  # type: ignore[attr-defined]
    page.wait_for_selector("text=rolled back")  # type: ignore[attr-defined]
    page.goto("/ui/titles/Journey/versions")  # type: ignore[attr-defined]
    assert "9.0.0" not in _order(page)


def _order(page: object) -> list[str]:
    return page.eval_on_selector_all("ol#versions li", "items => items.map(i => i.dataset.version)")  # type: ignore[attr-defined, no-any-return]


def test_package_upload_resumes_after_the_server_restarts(
    page: object, server: Server, tmp_path: Path
) -> None:
    sign_in(page, "ada")
    package = tmp_path / "Big.pkg"
    package.write_bytes(os.urandom(50 * 1024 * 1024))
    page.goto("/ui/packages")  # type: ignore[attr-defined]
    page.route("**/api/v1/uploads/**", _cut_once())  # type: ignore[attr-defined]
    page.get_by_label("Choose a package").set_input_files(str(package))  # type: ignore[attr-defined]
    status = page.locator("#upload-status")  # type: ignore[attr-defined]
    playwright_api.expect(status).to_have_text(
        "Uploaded Big.pkg. (resumed after 1 interruption)", timeout=120_000
    )
    page.reload()  # type: ignore[attr-defined]
    page.get_by_role("link", name="Big.pkg").click()  # type: ignore[attr-defined]
    import hashlib

    digest = hashlib.sha256(package.read_bytes()).hexdigest()
    assert page.get_by_text(digest).is_visible()  # type: ignore[attr-defined]
    axe_clean(page)
    shot(page, "package")
    page.get_by_label("Stage tags").fill("testing")  # type: ignore[attr-defined]
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.get_by_role("button", name="Save").click()  # type: ignore[attr-defined]
    assert page.get_by_label("Stage tags").input_value() == "testing"  # type: ignore[attr-defined]
    page.get_by_label("Type the filename").fill("Big.pkg")  # type: ignore[attr-defined]
    with page.expect_navigation(url="**/ui/packages"):  # type: ignore[attr-defined]
        page.get_by_role("button", name="Delete the package").click()  # type: ignore[attr-defined]
    assert page.get_by_text("No packages yet.").is_visible()  # type: ignore[attr-defined]


def _cut_once():  # type: ignore[no-untyped-def]
    """Abort the second PATCH of the upload: the connection drops mid-upload, and the client
    must ask the server where it stands and carry on from there."""
    seen = {"patches": 0}

    def handle(route):  # type: ignore[no-untyped-def]
        if route.request.method == "PATCH":
            seen["patches"] += 1
            if seen["patches"] == 2:
                route.abort("connectionreset")
                return
        route.continue_()

    return handle


def test_remaining_primary_actions(page: object, tmp_path: Path) -> None:
    sign_in(page, "ada")
    page.goto("/ui/namespaces")  # type: ignore[attr-defined]
    page.get_by_label("Slug").fill("acme")  # type: ignore[attr-defined]
    page.get_by_label("Display name").fill("Acme")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Create the namespace").click()  # type: ignore[attr-defined]
    page.wait_for_selector("td:text-is('acme')")  # type: ignore[attr-defined]

    page.goto("/ui/users")  # type: ignore[attr-defined]
    page.get_by_label("Username").fill("newbie")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Create the account").click()  # type: ignore[attr-defined]
    page.wait_for_selector("td:text-is('newbie')")  # type: ignore[attr-defined]

    page.goto("/ui/tokens")  # type: ignore[attr-defined]
    page.get_by_label("Name").fill("laptop")  # type: ignore[attr-defined]
    page.get_by_label("titles:read").check()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Create the token").click()  # type: ignore[attr-defined]
    page.wait_for_selector("#secret")  # type: ignore[attr-defined]
    axe_clean(page)

    page.goto("/ui/audit")  # type: ignore[attr-defined]
    page.get_by_label("Who").fill("ada")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Filter").click()  # type: ignore[attr-defined]
    page.wait_for_selector("td:text-is('namespace.create')")  # type: ignore[attr-defined]

    page.goto("/ui/backups")  # type: ignore[attr-defined]
    # The API answers the session (and its CSRF token) as it answers a token.
    document = json.loads(fixture_text("example.json"))
    document["id"] = "Backed"
    made = page.request.post(  # type: ignore[attr-defined]
        "/api/v1/titles",
        data=json.dumps(document),
        headers={"X-CSRF-Token": _csrf(page), "Content-Type": "application/json"},
    )
    assert made.status == 201, made.text()
    with page.expect_download() as download:  # type: ignore[attr-defined]
        page.get_by_role("button", name="Download every title").click()  # type: ignore[attr-defined]
    archive = tmp_path / download.value.suggested_filename
    download.value.save_as(archive)
    page.get_by_label("Backup").set_input_files(str(archive))  # type: ignore[attr-defined]
    page.get_by_role("button", name="Check (dry run)").click()  # type: ignore[attr-defined]
    page.wait_for_selector("text=Dry run: nothing was written")  # type: ignore[attr-defined]
    axe_clean(page)
    page.get_by_role("button", name="Restore, keeping titles that exist").click()  # type: ignore[attr-defined]
    page.wait_for_selector("h3:text-is('Restored')")  # type: ignore[attr-defined]


def test_a_viewer_sees_no_write_buttons_and_the_server_refuses(page: object) -> None:
    sign_in(page, "val")
    page.goto("/ui/titles")  # type: ignore[attr-defined]
    assert page.get_by_role("link", name="New title").count() == 0  # type: ignore[attr-defined]
    page.goto("/ui/packages")  # type: ignore[attr-defined]
    assert page.locator("#upload").count() == 0  # type: ignore[attr-defined]
    # The server refuses even a request the page does not offer.
    answer = page.request.post(  # type: ignore[attr-defined]
        "/ui/namespaces",
        form={"slug": "sneaky", "displayName": "Sneaky"},
        headers={"X-CSRF-Token": _csrf(page), "HX-Request": "true"},
    )
    assert answer.status == 403


def _csrf(page: object) -> str:
    found = page.get_attribute("body", "hx-headers")  # type: ignore[attr-defined]
    return str(json.loads(found)["X-CSRF-Token"])


def test_a_phone_sized_screen_needs_no_sideways_scrolling(chromium: object, server: Server) -> None:
    context = chromium.new_context(base_url=server.url, viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        sign_in(page, "ada")
        document = json.loads(fixture_text("example.json"))
        document["id"] = "Phone"
        page.request.post(
            "/api/v1/titles",
            data=json.dumps(document),
            headers={"X-CSRF-Token": _csrf(page), "Content-Type": "application/json"},
        )
        for path in ("/ui/", "/ui/titles", "/ui/titles/Phone/versions", "/ui/packages"):
            page.goto(path)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390, (path, width)
        shot(page, "phone")
    finally:
        context.close()


def test_chromium_is_the_system_one() -> None:
    assert shutil.which("chromium") in (None, CHROMIUM)
