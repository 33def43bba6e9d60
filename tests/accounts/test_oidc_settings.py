"""The oidc_* settings are checked when Pomona starts: each refusal names the setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from pomona.settings import Settings

GOOD = {
    "oidc_issuer": "https://login.example.com/tenant/v2.0",
    "oidc_client_id": "pomona",
    "oidc_client_secret": "secret",
    "public_url": "https://patch.example.com",
}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"oidc_issuer": "http://idp.example.com"}, "oidc_issuer: http:// is allowed on this"),
        ({"oidc_client_secret": ""}, "oidc_client_id, oidc_client_secret"),
        ({"oidc_scopes": ["profile"]}, "oidc_scopes: must include openid"),
        ({"public_url": None}, "oidc_redirect_url: set it, or public_url"),
        ({"oidc_redirect_url": "http://patch.example.com/cb"}, "oidc_redirect_url: http://"),
        ({"oidc_issuer": "https://idp.example.com/?x=1"}, "oidc_issuer"),
    ],
)
def test_a_wrong_value_stops_the_start_naming_it(
    tmp_path: Path, change: dict[str, object], named: str
) -> None:
    with pytest.raises(ValidationError, match=named.replace("?", r"\?")):
        Settings(data_dir=tmp_path, **{**GOOD, **change})  # type: ignore[arg-type]


def test_the_redirect_url_is_derived_from_public_url_or_given(tmp_path: Path) -> None:
    derived = Settings(data_dir=tmp_path, **GOOD)  # type: ignore[arg-type]
    assert derived.oidc_callback_url() == "https://patch.example.com/api/v1/session/oidc/callback"
    given = Settings(
        data_dir=tmp_path,
        **{**GOOD, "oidc_redirect_url": "https://sso.example.com/cb"},  # type: ignore[arg-type]
    )
    assert given.oidc_callback_url() == "https://sso.example.com/cb"
    # On this machine plain HTTP is fine (a provider and Pomona during set-up).
    Settings(data_dir=tmp_path, **{**GOOD, "oidc_issuer": "http://127.0.0.1:8080"})  # type: ignore[arg-type]


def test_unset_issuer_needs_nothing_else(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).oidc_issuer is None
