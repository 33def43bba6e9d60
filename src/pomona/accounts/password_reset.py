"""Password reset by email, for local accounts, whether or not sign-up is enabled.

Asking always answers the same, whether an account has that name or email or not, so it tells
nobody who is known here; only an enabled local account with an email is mailed. Using the link
sets the password, ends every session of the person and lifts their lockout, audited.
"""

from __future__ import annotations

from pomona.accounts import lockout, mail, mail_tokens, passwords
from pomona.accounts.mailing import SendMail, client_key, local_accounts, post
from pomona.accounts.models import Account
from pomona.accounts.people import end_sessions
from pomona.accounts.rate_limits import RateLimits
from pomona.audit.service import Who, record
from pomona.db import Database, utcnow
from pomona.errors import Invalid, NotFound
from pomona.settings import Settings


class PasswordReset:
    def __init__(
        self, db: Database, settings: Settings, limits: RateLimits, send: SendMail | None
    ) -> None:
        self.db = db
        self.settings = settings
        self.limits = limits
        self.send = send

    def _available(self) -> SendMail:
        if self.send is None:
            raise NotFound(
                "password reset by email is not set up on this server (no SMTP server); "
                "ask an admin to reset your password",
                code="reset_unavailable",
            )
        return self.send

    async def request(self, name_or_email: str, client: str | None = None) -> None:
        """Mail a reset link to the account(s) ``name_or_email`` names, if any."""
        send = self._available()
        await self.limits.hit(
            f"reset-address:{client_key(client)}",
            self.settings.rate_reset_per_address,
            "password resets from your address",
        )
        # Counted by what was asked for, known or not: a limit reached only for known
        # accounts would tell which are.
        await self.limits.hit(
            f"reset-account:{name_or_email.strip().lower()}",
            self.settings.rate_reset_per_account,
            "password resets for this account",
        )
        messages = []
        async with self.db.transaction() as session:
            for row in await local_accounts(session, name_or_email):
                if row.disabled or not row.email:
                    continue
                token = await mail_tokens.issue(
                    session, row.pk, "reset", self.settings.mail_token_minutes
                )
                messages.append(mail.password_reset(self.settings, row.email, row.username, token))
        for message in messages:
            await post(send, message)

    async def confirm(self, token: str, password: str, client: str | None = None) -> str:
        """Set the password of the account of ``token``; its username."""
        self._available()
        passwords.check(password)  # before the token is spent: a weak password can be retried
        hashed = await passwords.hash_password(password)
        async with self.db.transaction() as session:
            pk = await mail_tokens.redeem(session, token, "reset")
            row = await session.get(Account, pk, with_for_update=True)
            if row is None or row.source != "local" or row.disabled:
                raise Invalid(
                    "this account cannot take a password here any more; ask an admin",
                    "/token",
                    code="token_invalid",
                )
            row.password_hash = hashed
            row.updated_at = utcnow()
            await end_sessions(session, row.pk)
            await lockout.clear(session, row.username)
            who = Who(row.username, None, client, via="email")
            await record(session, who, "user.password_reset", f"user:{row.username}", "by email")
            return row.username
