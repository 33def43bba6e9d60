"""``pomona oidc test`` against the real provider: what it reads, what it says when it cannot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from pomona.cli import app as cli
from tests.fixtures.oidc_provider import (
    CALLBACK,
    OidcProvider,
    oidc_provider,  # noqa: F401 (the session's one provider)
)

pytestmark = pytest.mark.slow


def oidc_test(folder: Path, values: dict[str, object]) -> Result:
    path = folder / "pomona.toml"
    lines = [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    path.write_text("\n".join([*lines, "[group_roles]", '"mac-team" = ["editor"]']) + "\n")
    return CliRunner().invoke(cli, ["oidc", "test", "--config", str(path)], env={"COLUMNS": "200"})


def test_it_shows_what_sign_in_will_use(oidc_provider: OidcProvider, tmp_path: Path) -> None:  # noqa: F811
    result = oidc_test(tmp_path, oidc_provider.settings(data_dir=str(tmp_path)))
    assert result.exit_code == 0, result.output
    assert f"token       {oidc_provider.issuer}/token" in result.output
    assert f"redirect    {CALLBACK}" in result.output
    assert "(1 keys)" in result.output
    assert "mac-team  ->  editor" in result.output
    assert "warning" not in result.output


def test_it_warns_of_a_scope_the_provider_lacks(
    oidc_provider: OidcProvider,  # noqa: F811
    tmp_path: Path,
) -> None:
    values = oidc_provider.settings(data_dir=str(tmp_path), oidc_scopes=["openid", "offline"])
    result = oidc_test(tmp_path, values)
    assert result.exit_code == 0, result.output
    assert "warning: the scope 'offline' is not in the provider's scopes_supported" in result.output


def test_a_provider_that_is_away_is_said_so(tmp_path: Path) -> None:
    values = {
        "data_dir": str(tmp_path),
        "oidc_issuer": "http://127.0.0.1:9",
        "oidc_client_id": "pomona",
        "oidc_client_secret": "s",
        "public_url": "http://localhost",
    }
    result = oidc_test(tmp_path, values)
    assert result.exit_code == 1
    assert "oidc_unreachable" in result.output


def test_without_an_issuer_it_says_it_is_off(tmp_path: Path) -> None:
    result = oidc_test(tmp_path, {"data_dir": str(tmp_path)})
    assert result.exit_code == 2
    assert "oidc_issuer is not set" in result.output
