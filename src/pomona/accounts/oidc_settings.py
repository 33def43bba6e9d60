"""The settings of OpenID Connect sign-in (``oidc_*``), inherited by :class:`Settings` through
:class:`pomona.accounts.directory.DirectorySettings`. Kept apart from :mod:`pomona.accounts.oidc`
so that reading the settings imports no HTTP or JOSE library."""

from __future__ import annotations

from typing import Self
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, model_validator

CALLBACK_PATH = "/api/v1/session/oidc/callback"
FLOW_COOKIE = "pomona_oidc"  # the sealed state, nonce and PKCE verifier of a sign-in under way
FLOW_SECONDS = 600  # time to sign in at the provider
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _clear_text(url: str) -> bool:
    """An ``http://`` URL to another machine: codes and tokens would cross the network in clear."""
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname not in _LOOPBACK


class OidcSettings(BaseModel):
    oidc_issuer: str | None = Field(
        None,
        pattern=r"^https?://[^\s?#]+$",
        description=(
            "The provider's issuer URL; `/.well-known/openid-configuration` is read under it. "
            "Unset: no OpenID Connect sign-in."
        ),
    )
    oidc_client_id: str = Field("", description="Pomona's client (application) id there.")
    oidc_client_secret: SecretStr = Field(SecretStr(""), description="Its client secret.")
    oidc_scopes: list[str] = Field(
        ["openid", "profile", "email"],
        description="Scopes asked for; `openid` is required. Okta needs `groups` added.",
    )
    oidc_groups_claim: str = Field(
        "groups", min_length=1, description="Claim holding the person's groups (names or ids)."
    )
    oidc_redirect_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s?#]+$",
        description=f"Callback URL registered at the provider; unset: public_url{CALLBACK_PATH}.",
    )
    oidc_timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="Time limit of each call to the provider."
    )

    @model_validator(mode="after")
    def _oidc_complete(self) -> Self:
        if not self.oidc_issuer:
            return self
        if _clear_text(self.oidc_issuer):
            raise ValueError("oidc_issuer: http:// is allowed on this machine only; use https://")
        if not self.oidc_client_id or not self.oidc_client_secret.get_secret_value():
            raise ValueError(
                "oidc_client_id, oidc_client_secret: both are needed (a confidential client)"
            )
        if "openid" not in self.oidc_scopes:
            raise ValueError("oidc_scopes: must include openid")
        redirect = self.oidc_redirect_url
        public_url = getattr(self, "public_url", None)
        if redirect is None and not public_url:
            raise ValueError("oidc_redirect_url: set it, or public_url to derive it from")
        if redirect is not None and _clear_text(redirect):
            raise ValueError("oidc_redirect_url: http:// is allowed on this machine only")
        return self

    def oidc_callback_url(self) -> str:
        if self.oidc_redirect_url:
            return self.oidc_redirect_url
        public_url = getattr(self, "public_url", None) or ""
        return public_url.rstrip("/") + CALLBACK_PATH
