"""The settings of email (``smtp_*``), self-service sign-up (``signup_*``) and rate limits
(``rate_*``), inherited by :class:`pomona.settings.Settings`. Kept apart from
:mod:`pomona.accounts.mail` so that reading the settings imports no SMTP client."""

from __future__ import annotations

import re
from typing import Literal, Self

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

_LOOPBACK = ("127.0.0.1", "::1", "localhost")
_RATE = re.compile(r"^([1-9]\d{0,5})/([1-9]\d{0,6})$")


def rate(spec: str) -> tuple[int, int]:
    """``"5/3600"``: at most 5 requests in any 3600 seconds."""
    found = _RATE.fullmatch(spec)
    if found is None:
        raise ValueError(f"{spec!r}: write COUNT/SECONDS, e.g. 5/3600")
    return int(found[1]), int(found[2])


def _rate_field(default: str, what: str) -> str:
    return Field(default, description=f"{what}, as `COUNT/SECONDS` (a sliding window).")


class MailSettings(BaseModel):
    smtp_host: str | None = Field(
        None,
        description=(
            "The SMTP server that sends Pomona's mail (sign-up verification, password reset). "
            "Unset: no mail, so no sign-up and no password reset by email."
        ),
    )
    smtp_port: int | None = Field(
        None, ge=1, le=65535, description="Its port; unset: 587 (`starttls`), 465 (`tls`), 25."
    )
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls",
        description=(
            "`starttls` (upgrade a plain connection, port 587), `tls` (TLS from the start, port "
            "465) or `none` (only to a server on this machine: mail crosses no network)."
        ),
    )
    smtp_ca_file: str | None = Field(
        None,
        description=(
            "PEM file of the CA certificates that signed the SMTP server's certificate (an "
            "internal relay); unset: the system's trust store. The certificate is always verified."
        ),
    )
    smtp_username: str | None = Field(None, description="SMTP sign-in name; unset: none.")
    smtp_password: SecretStr = Field(SecretStr(""), description="SMTP sign-in password.")
    smtp_from: str = Field(
        "pomona@localhost", description="The sender of Pomona's mail, e.g. `Pomona <p@x.org>`."
    )
    smtp_timeout_seconds: float = Field(
        30.0, gt=0, le=300, description="Time limit of each exchange with the SMTP server."
    )
    signup_enabled: bool = Field(
        False,
        description=(
            "Whether people may create their own accounts through the API; needs `smtp_host` "
            "and `public_url`. An account works once its email is verified."
        ),
    )
    signup_role: str = Field(
        "viewer", min_length=1, description="The role spec a verified new account is given."
    )
    mail_token_minutes: int = Field(
        60, ge=5, le=10080, description="How long a verification or password-reset link works."
    )
    rate_signin_per_address: str = _rate_field("30/60", "Sign-ins from one client address")
    rate_signin_per_account: str = _rate_field("10/60", "Sign-ins to one username")
    rate_signup_per_address: str = _rate_field("5/3600", "Sign-ups from one client address")
    rate_signup_per_email: str = _rate_field("3/3600", "Sign-ups and resends for one email")
    rate_reset_per_address: str = _rate_field("10/3600", "Password resets from one address")
    rate_reset_per_account: str = _rate_field("3/3600", "Password resets for one account")

    @field_validator(
        "rate_signin_per_address",
        "rate_signin_per_account",
        "rate_signup_per_address",
        "rate_signup_per_email",
        "rate_reset_per_address",
        "rate_reset_per_account",
    )
    @classmethod
    def _rate(cls, value: str) -> str:
        rate(value)
        return value

    @field_validator("signup_role")
    @classmethod
    def _signup_role(cls, value: str) -> str:
        from pomona.accounts.roles import parse  # the one reader of role specs
        from pomona.errors import Invalid

        try:
            return parse(value).spec
        except Invalid as exc:
            raise ValueError(f"signup_role: {exc}") from None

    @model_validator(mode="after")
    def _mail_complete(self) -> Self:
        if self.smtp_host and self.smtp_security == "none" and self.smtp_host not in _LOOPBACK:
            raise ValueError(
                "smtp_security: `none` is allowed to a server on this machine only; use "
                "`starttls` or `tls`"
            )
        public_url = getattr(self, "public_url", None)
        if self.smtp_host and not public_url:
            raise ValueError("public_url: needed for the links in mail (smtp_host is set)")
        if self.signup_enabled and not self.smtp_host:
            raise ValueError("signup_enabled: needs smtp_host, to verify each new email")
        return self
