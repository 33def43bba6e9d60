"""Single-use, expiring secrets sent by mail (a verification or a password-reset link).

Only a secret's SHA-256 is stored, so the table read by someone else opens nothing. Using one
spends every other secret of the same purpose of that person: a link mailed twice (a resend)
works once in all.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.accounts.models import MailToken
from pomona.db import utcnow
from pomona.errors import Invalid

Purpose = Literal["verify", "reset"]
MAX_LENGTH = 128  # what a token is at most; ours are 43 characters


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def issue(session: AsyncSession, account_pk: int, purpose: Purpose, minutes: int) -> str:
    """A new secret for ``account_pk``, good for ``minutes``; only the caller sees it."""
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        MailToken(
            account_pk=account_pk,
            purpose=purpose,
            token_hash=_digest(secret),
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
    )
    return secret


async def redeem(session: AsyncSession, secret: str, purpose: Purpose) -> int:
    """Spend ``secret`` and return its person's key; an unknown, used or expired secret is
    refused alike (the refusal tells nothing of which)."""
    row = await session.scalar(
        select(MailToken)
        .where(MailToken.token_hash == _digest(secret), MailToken.purpose == purpose)
        .with_for_update()
    )
    now = utcnow()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise Invalid(
            "this link is unknown, used or expired; ask for a new one",
            "/token",
            code="token_invalid",
        )
    await session.execute(
        update(MailToken)
        .where(
            MailToken.account_pk == row.account_pk,
            MailToken.purpose == purpose,
            MailToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return row.account_pk
