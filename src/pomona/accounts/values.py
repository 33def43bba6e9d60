"""The value types the accounts services hand out (never their rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pomona.auth.scopes import Principal


@dataclass(frozen=True, slots=True)
class AccountInfo:
    username: str
    display_name: str
    email: str | None
    source: str
    disabled: bool
    roles: list[str]  # role specs
    totp: bool  # a confirmed second factor
    created_at: datetime
    updated_at: datetime
    last_signin_at: datetime | None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: str
    username: str
    via: str
    client: str | None
    user_agent: str | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just opened: its cookie secret and CSRF token are shown this once."""

    info: SessionInfo
    secret: str
    csrf_token: str


@dataclass(frozen=True, slots=True)
class SessionCaller:
    """The person behind a session cookie, and the session's CSRF token to compare."""

    principal: Principal
    session_id: str
    csrf_token: str


@dataclass(frozen=True, slots=True)
class PersonalTokenInfo:
    name: str
    scopes: list[str]
    titles: list[str] | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    uri: str
    secret: str


@dataclass(frozen=True, slots=True)
class AccountEdit:
    """What an admin may change; None leaves a field as it is."""

    display_name: str | None = None
    email: str | None = None
    disabled: bool | None = None
    roles: list[str] | None = None
