"""Tables of the accounts domain: people, their grants, sessions, personal tokens, TOTP."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pomona.db import Base, Key, LongText, UtcDateTime


class Account(Base):
    """A person. ``password_hash`` is an argon2id hash, or None (a directory person, or a local
    account whose password has not been set)."""

    __tablename__ = "accounts"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(Key, unique=True)
    display_name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255), nullable=True)
    source: Mapped[str] = mapped_column(String(16))  # local, ldap, oidc
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_signin_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Set when the person followed a verification link; a self-service account stays
    # disabled until then.
    email_verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class AccountGrant(Base):
    """One role spec (``editor@mac-team``) of a person. Directory grants are replaced at every
    sign-in and re-check; local ones only by an admin."""

    __tablename__ = "account_grants"
    __table_args__ = (UniqueConstraint("account_pk", "spec"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_pk: Mapped[int] = mapped_column(ForeignKey("accounts.pk", ondelete="CASCADE"))
    spec: Mapped[str] = mapped_column(Key)
    source: Mapped[str] = mapped_column(String(16))  # local, or the directory's (ldap, oidc)


class SigninFailure(Base):
    """Failed sign-ins by username, whether or not an account has that name, so that the
    lockout answers alike for both and tells nobody which names exist."""

    __tablename__ = "signin_failures"

    username: Mapped[str] = mapped_column(Key, primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime] = mapped_column(UtcDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class AccountSession(Base):
    """A browser session. The cookie holds a secret; only its SHA-256 is kept."""

    __tablename__ = "account_sessions"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    account_pk: Mapped[int] = mapped_column(
        ForeignKey("accounts.pk", ondelete="CASCADE"), index=True
    )
    via: Mapped[str] = mapped_column(String(16))  # password, ldap, oidc
    client: Mapped[str | None] = mapped_column(String(255), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)  # the absolute limit
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime)  # last directory re-check


class PersonalToken(Base):
    """An API token of a person, with a subset of their rights, checked again at every use."""

    __tablename__ = "personal_tokens"
    __table_args__ = (UniqueConstraint("account_pk", "name"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_pk: Mapped[int] = mapped_column(ForeignKey("accounts.pk", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Key)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(1024))  # space-separated
    titles: Mapped[str | None] = mapped_column(LongText, nullable=True)  # JSON list
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AccountTotp(Base):
    """A person's second factor: the TOTP secret, confirmed by one valid code, and the hashes
    of their unused recovery codes."""

    __tablename__ = "account_totp"

    account_pk: Mapped[int] = mapped_column(
        ForeignKey("accounts.pk", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    recovery_hashes: Mapped[str] = mapped_column(LongText)  # JSON list of SHA-256 hex digests
    # The time step of the last code accepted: a code is good once (RFC 6238, section 5.2).
    last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)


class MailToken(Base):
    """A single-use secret sent by mail: ``verify`` (a new account's email) or ``reset`` (a
    password). Only its SHA-256 is kept; ``used_at`` marks it spent."""

    __tablename__ = "mail_tokens"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_pk: Mapped[int] = mapped_column(
        ForeignKey("accounts.pk", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class RateHit(Base):
    """One counted request of a rate limit's bucket (``signin-address:192.0.2.7``). Kept in the
    database so that every process of a server counts the same requests."""

    __tablename__ = "rate_hits"
    __table_args__ = (Index("ix_rate_hits_bucket_at", "bucket", "at"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bucket: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


__all__ = [
    "Account",
    "AccountGrant",
    "AccountSession",
    "AccountTotp",
    "MailToken",
    "PersonalToken",
    "RateHit",
    "SigninFailure",
]
