"""A real ``pomona serve``: a new server logs how to make the first admin; the command makes
them; a browser-like client signs in over HTTP, writes with its CSRF token, and signs out."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.accounts.conftest import PASSWORD
from tests.conftest import fixture_text, serving


@pytest.mark.slow
def test_first_admin_from_the_log_to_a_signed_in_write(tmp_path: Path) -> None:
    with serving(tmp_path) as server:
        log = (tmp_path / "server.log").read_text()
        assert "`pomona users create NAME --admin`" in log
        made = server.pomona(
            "users", "create", "alice", "--admin", "--password-stdin", input=PASSWORD + "\n"
        )
        assert made.returncode == 0, made.stderr
        with httpx.Client(base_url=server.url) as browser:
            signed_in = browser.post(
                "/api/v1/session", json={"username": "alice", "password": PASSWORD}
            )
            assert signed_in.status_code == 200, signed_in.text
            assert "HttpOnly" in signed_in.headers["set-cookie"]
            csrf = signed_in.json()["csrfToken"]
            definition = fixture_text("example.json")
            refused = browser.post("/api/v1/titles", content=definition)
            assert refused.status_code == 403
            created = browser.post(
                "/api/v1/titles", content=definition, headers={"X-CSRF-Token": csrf}
            )
            assert created.status_code == 201, created.text
            out = browser.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
            assert out.status_code == 204
            assert browser.get("/api/v1/session").status_code == 401
        listed = server.pomona("users", "list", "--json")
        assert '"lastSignInAt": "20' in listed.stdout
