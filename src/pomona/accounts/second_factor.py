"""The second factor of an account: TOTP enrolment, confirmation, use and removal."""

from __future__ import annotations

import orjson
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.accounts import totp
from pomona.accounts.models import AccountTotp
from pomona.accounts.people import row_of
from pomona.accounts.values import TotpEnrolment
from pomona.audit.service import SYSTEM, Who, record
from pomona.db import Database, utcnow
from pomona.errors import Conflict, Invalid


def _wrong_code(path: str = "/code") -> Invalid:
    return Invalid("the code is wrong or was used already", path, code="totp_invalid")


class SecondFactor:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def enrol(self, username: str, *, who: Who = SYSTEM) -> TotpEnrolment:
        """A new secret, not in force until :meth:`confirm` sees one valid code."""
        async with self.db.transaction() as session:
            account = await row_of(session, username)
            found = await session.get(AccountTotp, account.pk)
            if found is not None and found.confirmed_at is not None:
                raise Conflict(
                    "a second factor is in force; disable it first to enrol another",
                    code="totp_enabled",
                )
            new = totp.enrol(username)
            if found is not None:
                await session.delete(found)
                await session.flush()
            session.add(AccountTotp(account_pk=account.pk, secret=new.secret, recovery_hashes="[]"))
            await record(session, who, "user.totp_enrol", f"user:{username}")
        return TotpEnrolment(new.uri, new.secret)

    async def confirm(self, username: str, code: str, *, who: Who = SYSTEM) -> list[str]:
        """Put the enrolled secret in force; returns the recovery codes, shown this once."""
        async with self.db.transaction() as session:
            account = await row_of(session, username)
            found = await session.get(AccountTotp, account.pk)
            if found is None or found.confirmed_at is not None:
                raise Conflict("nothing to confirm: enrol first", code="totp_not_enrolled")
            step = totp.step_of(found.secret, code, after=found.last_step)
            if step is None:
                raise _wrong_code()
            codes = totp.recovery_codes()
            found.confirmed_at = utcnow()
            found.last_step = step
            found.recovery_hashes = orjson.dumps([totp.digest(c) for c in codes]).decode()
            await record(session, who, "user.totp_enable", f"user:{username}")
        return codes

    async def check(self, username: str, code: str) -> bool:
        """Whether ``code`` is good for the person now (and spend it)."""
        async with self.db.transaction() as session:
            account = await row_of(session, username)
            return await accept(session, account.pk, code)

    async def disable(self, username: str, *, who: Who = SYSTEM) -> None:
        async with self.db.transaction() as session:
            account = await row_of(session, username)
            await session.execute(delete(AccountTotp).where(AccountTotp.account_pk == account.pk))
            await record(session, who, "user.totp_disable", f"user:{username}")


async def required(session: AsyncSession, account_pk: int) -> bool:
    found = await session.get(AccountTotp, account_pk)
    return found is not None and found.confirmed_at is not None


async def accept(session: AsyncSession, account_pk: int, code: str) -> bool:
    """Whether ``code`` (a TOTP code or an unused recovery code) is good; spends it."""
    found = await session.get(AccountTotp, account_pk, with_for_update=True)
    if found is None or found.confirmed_at is None:
        return False
    step = totp.step_of(found.secret, code, after=found.last_step)
    if step is not None:
        found.last_step = step
        return True
    hashes: list[str] = orjson.loads(found.recovery_hashes)
    digest = totp.digest(code)
    if digest in hashes:
        hashes.remove(digest)
        found.recovery_hashes = orjson.dumps(hashes).decode()
        return True
    return False
