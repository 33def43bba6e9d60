"""People: create, read, edit, disable and delete accounts; their roles and passwords.

Every write is audited in its own transaction (target ``user:NAME``). Disabling a person, a
password reset and deletion end their sessions in the same transaction, and a change that would
leave no enabled admin is refused, so the server can always be administered.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.accounts import lockout, passwords, roles, usernames
from pomona.accounts.models import (
    Account,
    AccountGrant,
    AccountSession,
    AccountTotp,
    PersonalToken,
)
from pomona.accounts.values import AccountEdit, AccountInfo
from pomona.audit.service import SYSTEM, Who, record
from pomona.auth.scopes import Principal
from pomona.characters import invisible
from pomona.db import Database, utcnow
from pomona.errors import Conflict, Invalid, NotFound, Problem


def not_found(username: str) -> NotFound:
    return NotFound(
        f"no account named '{username}'; `pomona users list` shows them",
        "/username",
        "path",
        code="account_not_found",
    )


def _details(display_name: str | None, email: str | None) -> list[Problem]:
    found = []
    if display_name is not None and (len(display_name) > 255 or _hidden(display_name)):
        found.append(Problem("/displayName", "use one line of at most 255 visible characters"))
    if email is not None and (
        len(email) > 255 or email.count("@") != 1 or " " in email or _hidden(email)
    ):
        found.append(Problem("/email", f"{email!r} is not an email address", code="email_invalid"))
    return found


def _hidden(text: str) -> bool:
    """Whether ``text`` holds a character no line of visible text holds (newlines, NUL...)."""
    return any(invisible(char) is not None for char in text)


class AccountService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        username: str,
        password: str | None,
        *,
        display_name: str | None = None,
        email: str | None = None,
        roles_: Sequence[str] = (),
        disabled: bool = False,
        who: Who = SYSTEM,
    ) -> AccountInfo:
        """A local account. ``password`` None: none yet (an admin resets it later).
        ``disabled``: a self-service account, switched on when its email is verified."""
        problems = usernames.problems(username) + _details(display_name, email)
        if password is not None:
            problems += passwords.problems(password)
        try:
            grants = roles.parse_all(roles_)
        except Invalid as exc:
            problems += exc.problems
        if problems:
            raise Invalid(problems)
        hashed = await passwords.hash_password(password) if password is not None else None
        now = utcnow()
        row = Account(
            username=username,
            display_name=display_name or username,
            email=email,
            source="local",
            password_hash=hashed,
            disabled=disabled,
            created_at=now,
            updated_at=now,
        )
        try:
            async with self.db.transaction() as session:
                session.add(row)
                await session.flush()  # a taken name fails here, before anything else is added
                session.add_all(
                    AccountGrant(account_pk=row.pk, spec=g.spec, source="local") for g in grants
                )
                detail = f"roles: {', '.join(g.spec for g in grants) or 'none'}"
                await record(session, who, "user.create", f"user:{username}", detail)
        except IntegrityError:
            raise Conflict(
                f"an account named '{username}' exists; pick another name",
                "/username",
                code="username_taken",
            ) from None
        return await self.get(username)

    async def list_accounts(self) -> list[AccountInfo]:
        async with self.db.sessions() as session:
            rows = list(await session.scalars(select(Account).order_by(Account.username)))
            return [await _info(session, row) for row in rows]

    async def get(self, username: str) -> AccountInfo:
        async with self.db.sessions() as session:
            return await _info(session, await row_of(session, username))

    async def edit(self, username: str, edit: AccountEdit, *, who: Who = SYSTEM) -> AccountInfo:
        problems = _details(edit.display_name, edit.email)
        grants = None
        try:
            grants = roles.parse_all(edit.roles) if edit.roles is not None else None
        except Invalid as exc:
            problems += exc.problems
        if problems:
            raise Invalid(problems)
        changed = []
        async with self.db.transaction() as session:
            row = await row_of(session, username)
            admins = await _admins(session)
            if edit.display_name is not None and edit.display_name != row.display_name:
                row.display_name = edit.display_name
                changed.append(f"display name: {edit.display_name}")
            if edit.email is not None and edit.email != row.email:
                row.email = edit.email or None
                changed.append(f"email: {edit.email or 'none'}")
            if edit.disabled is not None and edit.disabled != row.disabled:
                row.disabled = edit.disabled
                changed.append("disabled" if edit.disabled else "enabled")
                if edit.disabled:
                    await end_sessions(session, row.pk)
            if grants is not None:
                await set_grants(session, row.pk, [g.spec for g in grants], "local")
                changed.append(f"local roles: {', '.join(g.spec for g in grants) or 'none'}")
            if changed:
                row.updated_at = utcnow()
                await session.flush()
                await _keep_an_admin(session, admins)
                await record(session, who, "user.edit", f"user:{username}", "; ".join(changed))
        return await self.get(username)

    async def delete(self, username: str, *, who: Who = SYSTEM) -> None:
        async with self.db.transaction() as session:
            row = await row_of(session, username)
            admins = await _admins(session)
            # Children first: MySQL and SQLite honour ON DELETE CASCADE, but not every
            # connection has foreign keys on, and the order costs nothing.
            for table in (AccountGrant, AccountSession, AccountTotp):
                await session.execute(delete(table).where(table.account_pk == row.pk))
            await session.execute(delete(PersonalToken).where(PersonalToken.account_pk == row.pk))
            await session.delete(row)
            await session.flush()
            await _keep_an_admin(session, admins)
            await record(session, who, "user.delete", f"user:{username}")

    async def reset_password(self, username: str, password: str, *, who: Who = SYSTEM) -> None:
        """An admin sets a new password: the person's sessions end, the lockout is lifted."""
        passwords.check(password)
        hashed = await passwords.hash_password(password)
        async with self.db.transaction() as session:
            row = await row_of(session, username)
            if row.source != "local":
                raise Conflict(
                    f"'{username}' signs in through the directory ({row.source}); "
                    "change the password there",
                    "/username",
                    "path",
                    code="account_not_local",
                )
            row.password_hash = hashed
            row.updated_at = utcnow()
            await end_sessions(session, row.pk)
            await lockout.clear(session, username)
            await record(session, who, "user.password_reset", f"user:{username}")

    async def change_password(
        self,
        username: str,
        old: str,
        new: str,
        *,
        keep_session: str | None = None,
        who: Who = SYSTEM,
    ) -> None:
        """The person changes their own password; their other sessions end."""
        async with self.db.sessions() as session:
            stored = (await row_of(session, username)).password_hash
        if stored is None:
            raise Conflict(
                "your account has no password here (it signs in through the directory)",
                "/oldPassword",
                code="account_not_local",
            )
        if not (await passwords.verify(stored, old)).ok:
            raise Invalid("the old password is wrong", "/oldPassword", code="password_wrong")
        passwords.check(new, "/newPassword")
        hashed = await passwords.hash_password(new)
        async with self.db.transaction() as session:
            row = await row_of(session, username)
            row.password_hash = hashed
            row.updated_at = utcnow()
            others = delete(AccountSession).where(AccountSession.account_pk == row.pk)
            if keep_session is not None:
                others = others.where(AccountSession.public_id != keep_session)
            await session.execute(others)
            await record(session, who, "user.password_change", f"user:{username}")

    async def principal(self, username: str, via: str) -> Principal | None:
        """The person's rights now, from their grants; None when disabled or gone."""
        async with self.db.sessions() as session:
            row = await session.scalar(select(Account).where(Account.username == username))
            if row is None or row.disabled:
                return None
            specs = await grant_specs(session, row.pk)
        return roles.principal(username, map(roles.parse, specs), user=username, via=via)

    async def count(self) -> int:
        async with self.db.sessions() as session:
            return await session.scalar(select(func.count()).select_from(Account)) or 0


async def row_of(session: AsyncSession, username: str) -> Account:
    # A name no account can have is not looked up (a NUL byte is an error to PostgreSQL).
    if usernames.problems(username):
        raise not_found(username)
    row = await session.scalar(select(Account).where(Account.username == username))
    if row is None:
        raise not_found(username)
    return row


async def grant_specs(session: AsyncSession, account_pk: int) -> list[str]:
    found = await session.scalars(
        select(AccountGrant.spec)
        .where(AccountGrant.account_pk == account_pk)
        .order_by(AccountGrant.spec)
    )
    return list(dict.fromkeys(found))


async def set_grants(
    session: AsyncSession, account_pk: int, specs: Sequence[str], source: str
) -> None:
    """Replace the grants of one source (``local``, or a directory's)."""
    await session.execute(
        delete(AccountGrant).where(
            AccountGrant.account_pk == account_pk, AccountGrant.source == source
        )
    )
    await session.flush()
    session.add_all(
        AccountGrant(account_pk=account_pk, spec=spec, source=source) for spec in sorted(set(specs))
    )


async def end_sessions(session: AsyncSession, account_pk: int) -> None:
    await session.execute(delete(AccountSession).where(AccountSession.account_pk == account_pk))


async def _admins(session: AsyncSession) -> int:
    found = await session.scalar(
        select(func.count(func.distinct(Account.pk)))
        .select_from(Account)
        .join(AccountGrant, AccountGrant.account_pk == Account.pk)
        .where(AccountGrant.spec == "admin", Account.disabled.is_(False))
    )
    return found or 0


async def _keep_an_admin(session: AsyncSession, before: int) -> None:
    """Refuse a change that takes away the last enabled admin account."""
    if before and not await _admins(session):
        raise Conflict(
            "this would leave no enabled admin; make someone else admin first",
            "/roles",
            code="last_admin",
        )


async def _info(session: AsyncSession, row: Account) -> AccountInfo:
    totp = await session.scalar(select(AccountTotp).where(AccountTotp.account_pk == row.pk))
    return AccountInfo(
        username=row.username,
        display_name=row.display_name,
        email=row.email,
        source=row.source,
        disabled=row.disabled,
        roles=await grant_specs(session, row.pk),
        totp=totp is not None and totp.confirmed_at is not None,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_signin_at=row.last_signin_at,
    )
