"""Self-service sign-up: a disabled account and a verification mail; the link switches it on.

Off unless ``signup_enabled`` (and an SMTP server) is set. A new account holds no role and
cannot sign in until its owner proves the email is theirs; verifying gives it ``signup_role``.
An email that an account already has gets a mail saying so (and how to reset the password)
instead of a second account, and the answer is the same, so sign-up tells nobody which
addresses are known here. Usernames are public anyway (a taken one is refused).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.accounts import mail, mail_tokens, roles
from pomona.accounts.mailing import SendMail, client_key, local_accounts, post
from pomona.accounts.models import Account, MailToken
from pomona.accounts.people import AccountService, set_grants
from pomona.accounts.rate_limits import RateLimits
from pomona.audit.service import Who, record
from pomona.db import Database, utcnow
from pomona.errors import Invalid, NotFound
from pomona.settings import Settings


def _pending(row: Account) -> bool:
    """A self-service account whose email is not verified yet."""
    return row.disabled and row.email_verified_at is None and row.source == "local"


class SignUp:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        people: AccountService,
        limits: RateLimits,
        send: SendMail | None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.people = people
        self.limits = limits
        self.send = send

    def _enabled(self) -> SendMail:
        if not self.settings.signup_enabled or self.send is None:
            raise NotFound(
                "self-service sign-up is off on this server; ask an admin for an account",
                code="signup_disabled",
            )
        return self.send

    async def _limit(self, email: str, client: str | None) -> None:
        settings = self.settings
        await self.limits.hit(
            f"signup-address:{client_key(client)}",
            settings.rate_signup_per_address,
            "sign-ups from your address",
        )
        await self.limits.hit(
            f"signup-email:{email.strip().lower()}",
            settings.rate_signup_per_email,
            "sign-ups for this email",
        )

    async def __call__(
        self,
        username: str,
        email: str,
        password: str,
        display_name: str | None,
        client: str | None = None,
    ) -> None:
        """Create ``username``, disabled, and mail its verification link."""
        send = self._enabled()
        await self._limit(email, client)
        async with self.db.sessions() as session:
            known = await local_accounts(session, email)
        if any(row.email and row.email.lower() == email.strip().lower() for row in known):
            await post(send, mail.already_registered(self.settings, email))
            return
        who = Who(username, None, client, via="signup")
        await self.people.create(
            username,
            password,
            display_name=display_name,
            email=email,
            disabled=True,
            who=who,
        )
        await self._mail_link(send, username)

    async def resend(self, email: str, client: str | None = None) -> None:
        """Mail a new link to every unverified account of ``email``; nothing for others."""
        send = self._enabled()
        await self._limit(email, client)
        async with self.db.sessions() as session:
            waiting = [row.username for row in await local_accounts(session, email)]
        for username in waiting:
            await self._mail_link(send, username, only_if_unverified=email)

    async def _mail_link(
        self, send: SendMail, username: str, *, only_if_unverified: str | None = None
    ) -> None:
        async with self.db.transaction() as session:
            row = await session.scalar(select(Account).where(Account.username == username))
            if row is None or row.email is None or not _pending(row):
                return
            if only_if_unverified is not None and not await _was_signed_up(session, row.pk):
                return  # an account an admin made and switched off: not ours to switch on
            token = await mail_tokens.issue(
                session, row.pk, "verify", self.settings.mail_token_minutes
            )
            message = mail.verification(self.settings, row.email, username, token)
        await post(send, message)

    async def verify(self, token: str, client: str | None = None) -> str:
        """Switch the account of ``token`` on with ``signup_role``; its username."""
        self._enabled()
        grant = roles.parse(self.settings.signup_role, "/signupRole")
        async with self.db.transaction() as session:
            pk = await mail_tokens.redeem(session, token, "verify")
            row = await session.get(Account, pk, with_for_update=True)
            if row is None or not _pending(row):
                raise Invalid(
                    "this account is verified already, or an admin has changed it",
                    "/token",
                    code="token_invalid",
                )
            row.disabled = False
            row.email_verified_at = row.updated_at = utcnow()
            await set_grants(session, row.pk, [grant.spec], "local")
            who = Who(row.username, None, client, via="signup")
            await record(session, who, "user.verify", f"user:{row.username}", grant.spec)
            return row.username


async def _was_signed_up(session: AsyncSession, account_pk: int) -> bool:
    """Whether the account was made by sign-up: it has been sent a verification link."""
    found = await session.scalar(
        select(MailToken.pk)
        .where(MailToken.account_pk == account_pk, MailToken.purpose == "verify")
        .limit(1)
    )
    return found is not None
