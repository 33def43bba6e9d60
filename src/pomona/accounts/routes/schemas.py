"""Request and answer models of the accounts API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from pomona.accounts.values import AccountInfo, PersonalTokenInfo, SessionInfo
from pomona.times import format_time


class SignInIn(BaseModel):
    username: str = Field(max_length=255)
    password: str = Field(max_length=4096)
    code: str | None = Field(
        None, max_length=64, description="The authenticator app's code, or a recovery code"
    )


class UserOut(BaseModel):
    username: str
    displayName: str
    email: str | None
    source: str = Field(description="local, ldap or oidc")
    disabled: bool
    roles: list[str] = Field(description="Role specs, e.g. editor@mac-team")
    totp: bool = Field(description="A second factor is in force")
    createdAt: str
    updatedAt: str
    lastSignInAt: str | None


def user_out(info: AccountInfo) -> UserOut:
    return UserOut(
        username=info.username,
        displayName=info.display_name,
        email=info.email,
        source=info.source,
        disabled=info.disabled,
        roles=info.roles,
        totp=info.totp,
        createdAt=format_time(info.created_at),
        updatedAt=format_time(info.updated_at),
        lastSignInAt=format_time(info.last_signin_at) if info.last_signin_at else None,
    )


class WhoAmIOut(BaseModel):
    name: str = Field(description="The principal, as the audit log names it")
    user: UserOut | None = Field(description="The person; null for a service token")
    via: str | None = Field(description="session, token:NAME, ldap; null for a service token")
    scopes: list[str]
    titles: list[str] | None
    namespaces: list[str] | None
    csrfToken: str | None = Field(
        description="Send it as X-CSRF-Token with every unsafe request the session cookie "
        "authenticates; null when the request did not come with the cookie"
    )


class UserIn(BaseModel):
    username: str = Field(max_length=255)
    password: str | None = Field(None, max_length=4096)
    displayName: str | None = Field(None, max_length=1000)
    email: str | None = Field(None, max_length=1000)
    roles: list[str] = Field(default_factory=list, max_length=100)


class UserPatch(BaseModel):
    displayName: str | None = Field(None, max_length=1000)
    email: str | None = Field(None, max_length=1000)
    disabled: bool | None = None
    roles: list[str] | None = Field(None, max_length=100, description="Replaces the local roles")


class PasswordResetIn(BaseModel):
    password: str = Field(max_length=4096)


class PasswordChangeIn(BaseModel):
    oldPassword: str = Field(max_length=4096)
    newPassword: str = Field(max_length=4096)


class SessionOut(BaseModel):
    id: str
    username: str
    via: str
    client: str | None
    userAgent: str | None
    createdAt: str
    lastSeenAt: str
    expiresAt: str


def session_out(info: SessionInfo) -> SessionOut:
    return SessionOut(
        id=info.id,
        username=info.username,
        via=info.via,
        client=info.client,
        userAgent=info.user_agent,
        createdAt=format_time(info.created_at),
        lastSeenAt=format_time(info.last_seen_at),
        expiresAt=format_time(info.expires_at),
    )


class SessionsOut(BaseModel):
    items: list[SessionOut]


class RevokedOut(BaseModel):
    revoked: int


class TotpEnrolOut(BaseModel):
    uri: str = Field(description="otpauth:// URI for the authenticator app (as a QR code)")
    secret: str = Field(description="The same secret, to type in by hand")


class TotpCodeIn(BaseModel):
    code: str = Field(max_length=64)


class RecoveryCodesOut(BaseModel):
    recoveryCodes: list[str] = Field(description="Each works once; shown this once")


class TokenIn(BaseModel):
    name: str = Field(max_length=255)
    scopes: list[str] = Field(max_length=20)
    titles: list[str] | None = Field(None, max_length=10_000)
    expiresAt: datetime = Field(description="ISO-8601; at most 366 days away")


class TokenOut(BaseModel):
    name: str
    scopes: list[str]
    titles: list[str] | None
    createdAt: str
    lastUsedAt: str | None
    expiresAt: str


def token_out(info: PersonalTokenInfo) -> TokenOut:
    return TokenOut(
        name=info.name,
        scopes=info.scopes,
        titles=info.titles,
        createdAt=format_time(info.created_at),
        lastUsedAt=format_time(info.last_used_at) if info.last_used_at else None,
        expiresAt=format_time(info.expires_at),
    )


class NewTokenOut(TokenOut):
    token: str = Field(description="The secret, shown this once")


class TokensOut(BaseModel):
    items: list[TokenOut]


class SignUpIn(BaseModel):
    username: str = Field(max_length=255)
    email: str = Field(max_length=255)
    password: str = Field(max_length=4096)
    displayName: str | None = Field(None, max_length=255)


class EmailIn(BaseModel):
    email: str = Field(max_length=255)


class ResetIn(BaseModel):
    login: str = Field(max_length=255, description="The account's username or email")


class MailTokenIn(BaseModel):
    token: str = Field(min_length=1, max_length=128, description="The token from the mail")


class ResetConfirmIn(MailTokenIn):
    password: str = Field(max_length=4096, description="The new password")


class AcceptedOut(BaseModel):
    message: str = Field(description="What happens next, for a person to read")


class VerifiedOut(BaseModel):
    username: str = Field(description="The account, which can sign in now")
