"""Mail: the plain-text messages of sign-up and password reset, and sending them over SMTP.

Sending is a queued task (:mod:`pomona.accounts.tasks`), never part of a request: a slow or
unreachable mail server delays the mail, not the answer, and a failed send is retried.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from pomona.settings import Settings

_PORTS = {"starttls": 587, "tls": 465, "none": 25}


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    body: str
    html: str | None = None  # an HTML alternative to ``body`` (notifications)


def _action(settings: Settings, path: str, token: str, extra: str = "") -> str:
    """The exact request that uses ``token``: there is no web page for it yet."""
    base = (settings.public_url or "").rstrip("/")
    return (
        f"    curl -X POST {base}{path} \\\n"
        "      -H 'Content-Type: application/json' \\\n"
        f'      -d \'{{"token": "{token}"{extra}}}\'\n'
    )


def verification(settings: Settings, to: str, username: str, token: str) -> Mail:
    minutes = settings.mail_token_minutes
    action = _action(settings, "/api/v1/signup/verify", token)
    body = (
        f"Someone (we hope you) signed up as '{username}' on the Pomona server at "
        f"{settings.public_url}.\n\n"
        f"To confirm this email address and switch the account on, within {minutes} minutes "
        f"run:\n\n{action}\n"
        "Then sign in with the username and password you chose.\n\n"
        "If this was not you, do nothing: the account stays switched off.\n"
    )
    return Mail(to, "Confirm your Pomona account", body)


def password_reset(settings: Settings, to: str, username: str, token: str) -> Mail:
    minutes = settings.mail_token_minutes
    action = _action(
        settings, "/api/v1/password-reset/confirm", token, ', "password": "YOUR NEW PASSWORD"'
    )
    body = (
        f"A new password was asked for the account '{username}' on the Pomona server at "
        f"{settings.public_url}.\n\n"
        f"To choose one, within {minutes} minutes and once only, run:\n\n{action}\n"
        "Every session of the account then ends; sign in again with the new password.\n\n"
        "If this was not you, do nothing: your password stays as it is.\n"
    )
    return Mail(to, "Reset your Pomona password", body)


def already_registered(settings: Settings, to: str) -> Mail:
    body = (
        f"Someone tried to sign up on the Pomona server at {settings.public_url} with this "
        "email address, which an account there already has.\n\n"
        "If you have forgotten its password, ask for a new one (a password reset by email, "
        f"at {(settings.public_url or '').rstrip('/')}/api/v1/password-reset). "
        "If this was not you, do nothing.\n"
    )
    return Mail(to, "Your Pomona account", body)


async def send(settings: Settings, mail: Mail) -> None:
    """Hand ``mail`` to the configured SMTP server; raises when it refuses or is away."""
    assert settings.smtp_host, "mail is sent only where smtp_host is set"
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message.set_content(mail.body)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    security = settings.smtp_security
    # Verified always, host name included; a CA file adds an internal CA to nothing else.
    context = ssl.create_default_context(cafile=settings.smtp_ca_file)
    await aiosmtplib.send(
        message,
        hostname=settings.smtp_host,
        port=settings.smtp_port or _PORTS[security],
        username=settings.smtp_username or None,
        password=settings.smtp_password.get_secret_value() or None,
        use_tls=security == "tls",
        start_tls=security == "starttls",
        tls_context=context,
        timeout=settings.smtp_timeout_seconds,
    )
