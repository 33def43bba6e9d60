"""Sign-in: a password (local argon2, or the directory's), a second factor, then a session.

A local account with a password is checked here; any other name goes to the directory when one
is configured, and a person it accepts gets (or keeps) an account of that source whose grants
follow their groups. Every refusal before the password is known to be right reads the same,
whether the name exists or not, and counts toward the name's lockout.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.accounts import passwords, roles, second_factor, usernames
from pomona.accounts.directory import Directory, DirectoryPerson, role_specs
from pomona.accounts.lockout import Lockout, locked
from pomona.accounts.mailing import client_key
from pomona.accounts.models import Account, AccountGrant
from pomona.accounts.people import set_grants
from pomona.accounts.rate_limits import RateLimits
from pomona.accounts.sessions import SessionService
from pomona.accounts.values import NewSession
from pomona.audit.service import Who, record
from pomona.db import Database, utcnow
from pomona.errors import Conflict, Forbidden, Unauthenticated
from pomona.settings import Settings


@dataclass(frozen=True, slots=True)
class Attempt:
    username: str
    password: str
    code: str | None = None  # TOTP or recovery code
    client: str | None = None
    user_agent: str | None = None


def _refused() -> Unauthenticated:
    return Unauthenticated(
        "the username or the password is wrong", "/password", code="signin_failed"
    )


class SignIn:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        sessions: SessionService,
        lockout: Lockout,
        directory: Directory | None,
        limits: RateLimits,
    ) -> None:
        self.db = db
        self.limits = limits
        self.settings = settings
        self.sessions = sessions
        self.lockout = lockout
        self.directory = directory

    async def __call__(self, attempt: Attempt) -> NewSession:
        name = attempt.username.strip()
        await self._limit(name, attempt.client)
        if usernames.problems(name):
            # No account can have this name (and it could not be stored as a failure's key).
            await passwords.verify(None, attempt.password)
            raise _refused()
        await self.lockout.check(name)
        async with self.db.sessions() as session:
            account = await session.scalar(select(Account).where(Account.username == name))
        person = None
        if account is not None and account.password_hash is not None:
            checked = await passwords.verify(account.password_hash, attempt.password)
            ok, new_hash = checked.ok, checked.new_hash
        elif self.directory is not None and attempt.password:
            # An empty password would be an unauthenticated bind that "succeeds".
            person = await self.directory.authenticate(name, attempt.password)
            ok, new_hash = person is not None, None
        else:
            await passwords.verify(None, attempt.password)  # the same time as a real check
            ok, new_hash = False, None
        if not ok:
            await self._failed(name)
        return await self._open(name, attempt, account, person, new_hash)

    async def _limit(self, name: str, client: str | None) -> None:
        """Every attempt counts, right or wrong: the lockout slows guessing at one name, these
        slow a client trying many names, and anyone hammering one name."""
        await self.limits.hit(
            f"signin-address:{client_key(client)}",
            self.settings.rate_signin_per_address,
            "sign-ins from your address",
        )
        await self.limits.hit(
            f"signin-account:{name.lower()}",
            self.settings.rate_signin_per_account,
            "sign-ins to this username",
        )

    async def provider(
        self, person: DirectoryPerson, client: str | None, user_agent: str | None
    ) -> NewSession:
        """A session for a person an OpenID Connect provider vouched for. The provider did the
        authentication (and its own second factor), so no password, lockout or TOTP here."""
        attempt = Attempt(person.username, "", None, client, user_agent)
        return await self._open(person.username, attempt, None, person, None, code_check=False)

    async def _failed(self, name: str) -> None:
        until = await self.lockout.failed(name)
        if until is not None:
            raise locked(until, utcnow())
        raise _refused()

    async def _open(
        self,
        name: str,
        attempt: Attempt,
        account: Account | None,
        person: DirectoryPerson | None,
        new_hash: str | None,
        *,
        code_check: bool = True,
    ) -> NewSession:
        if person is not None:
            # Committed on its own: a person whose groups no longer give a role loses the
            # grants now, even though the sign-in is then refused.
            async with self.db.transaction() as session:
                account = await self._from_directory(session, person)
        assert account is not None
        async with self.db.transaction() as session:
            row = await session.get(Account, account.pk, with_for_update=True)
            if row is None:  # deleted between the password check and now
                raise _refused()
            self._admissible(row)
            wrong = code_check and await self._second_factor(session, row.pk, attempt.code)
            if not wrong:
                if not await session.scalar(
                    select(AccountGrant.pk).where(AccountGrant.account_pk == row.pk).limit(1)
                ):
                    raise Forbidden(
                        "you are known here but hold no role; ask an admin for one",
                        "/username",
                        code="no_role",
                    )
                if new_hash is not None:
                    row.password_hash = new_hash  # the hasher's parameters have changed
                row.last_signin_at = utcnow()
                via = person.source if person is not None else "password"
                opened = await self.sessions.open(
                    session, row, via, client=attempt.client, user_agent=attempt.user_agent
                )
                who = Who(row.username, None, attempt.client, via="session")
                await record(session, who, "session.start", f"session:{opened.info.id}", via)
        if wrong:
            await self._failed(name)
        await self.lockout.succeeded(name)
        return opened

    @staticmethod
    def _admissible(row: Account) -> None:
        if row.disabled:
            raise Forbidden(
                "this account is disabled; ask an admin", "/username", code="account_disabled"
            )

    @staticmethod
    async def _second_factor(session: AsyncSession, account_pk: int, code: str | None) -> bool:
        """True when a second factor is in force and ``code`` is wrong."""
        if not await second_factor.required(session, account_pk):
            return False
        if not code:
            raise Unauthenticated(
                "give the code of your authenticator app (or a recovery code)",
                "/code",
                code="totp_required",
            )
        return not await second_factor.accept(session, account_pk, code)

    async def _from_directory(self, session: AsyncSession, person: DirectoryPerson) -> Account:
        """The account of a directory person, created or brought up to date, with the grants
        their groups give now."""
        now = utcnow()
        account = await session.scalar(select(Account).where(Account.username == person.username))
        if account is None:
            account = Account(
                username=person.username,
                display_name=person.display_name or person.username,
                email=person.email,
                source=person.source,
                password_hash=None,
                disabled=False,
                created_at=now,
                updated_at=now,
            )
            session.add(account)
            await session.flush()
            who = Who(person.username, None, None, via=person.source)
            await record(session, who, "user.create", f"user:{person.username}", person.source)
        elif person.source == "oidc" and account.source != "oidc":
            # A claim such as preferred_username is whatever the provider lets be set there:
            # it must not take over an account of another source (a local admin's, say).
            raise Conflict(
                f"the username {person.username!r} belongs to a {account.source} account here, "
                "not one created by OpenID Connect sign-in; an admin can delete or rename it",
                "/username",
                code="oidc_name_taken",
            )
        else:
            account.display_name = person.display_name or account.display_name
            account.email = person.email
            account.source = person.source
        specs = role_specs(person.groups, self.settings.group_roles)
        await set_grants(
            session, account.pk, [g.spec for g in roles.parse_all(specs)], person.source
        )
        return account
