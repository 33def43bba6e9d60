"""What sign-up and password reset share: who may be mailed, and handing a mail to the queue."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from anyio import to_thread
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.accounts.mail import Mail
from pomona.accounts.models import Account

# Enqueues the ``accounts.mail`` task; None where no SMTP server is configured.
SendMail = Callable[[str, str, str], object]


def client_key(client: str | None) -> str:
    return client or "unknown"


async def local_accounts(session: AsyncSession, name_or_email: str) -> Sequence[Account]:
    """The local accounts with this username, or this email (compared without case)."""
    wanted = name_or_email.strip()
    found = await session.scalars(
        select(Account).where(
            Account.source == "local",
            or_(Account.username == wanted, func.lower(Account.email) == wanted.lower()),
        )
    )
    return found.all()


async def post(send: SendMail, mail: Mail) -> None:
    # Enqueueing writes to the queue's store (SQLite, Redis, PostgreSQL): off the event loop.
    await to_thread.run_sync(send, mail.to, mail.subject, mail.body)
