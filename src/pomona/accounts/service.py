"""The accounts domain's services, built once per process from the database and the settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pomona.accounts.directory import Directory, build_directory
from pomona.accounts.lockout import Lockout
from pomona.accounts.mailing import SendMail
from pomona.accounts.password_reset import PasswordReset
from pomona.accounts.people import AccountService
from pomona.accounts.rate_limits import RateLimits
from pomona.accounts.second_factor import SecondFactor
from pomona.accounts.sessions import SessionService
from pomona.accounts.signin import SignIn
from pomona.accounts.signup import SignUp
from pomona.accounts.tokens import PersonalTokens
from pomona.auth.service import TokenService
from pomona.db import Database
from pomona.settings import Settings

if TYPE_CHECKING:
    from pomona.accounts.oidc import OidcClient

BOOTSTRAP = "pomona users create NAME --admin"


@dataclass(frozen=True, slots=True)
class Accounts:
    people: AccountService
    sessions: SessionService
    signin: SignIn
    second_factor: SecondFactor
    tokens: PersonalTokens
    directory: Directory | None
    oidc: OidcClient | None  # OpenID Connect sign-in, when oidc_issuer is set
    signup: SignUp
    password_reset: PasswordReset

    @classmethod
    def build(
        cls,
        db: Database,
        settings: Settings,
        directory: Directory | None = None,
        *,
        send_mail: SendMail | None = None,
    ) -> Accounts:
        """``directory``: None builds the one the settings name (if any). ``send_mail``
        enqueues a mail; None: no mail, so no sign-up and no password reset by email."""
        directory = directory if directory is not None else build_directory(settings)
        people = AccountService(db)
        sessions = SessionService(db, settings, people, directory)
        limits = RateLimits(db)
        return cls(
            people=people,
            sessions=sessions,
            signin=SignIn(db, settings, sessions, Lockout(db, settings), directory, limits),
            second_factor=SecondFactor(db),
            tokens=PersonalTokens(db, people),
            directory=directory,
            oidc=_oidc(settings),
            signup=SignUp(db, settings, people, limits, send_mail),
            password_reset=PasswordReset(db, settings, limits, send_mail),
        )


def _oidc(settings: Settings) -> OidcClient | None:
    if not settings.oidc_issuer:
        return None
    # Imported here: authlib, joserfc and the HTTP client are needed only where it is configured.
    from pomona.accounts.oidc import OidcClient

    return OidcClient(settings)


async def first_run_hint(people: AccountService, tokens: TokenService) -> str | None:
    """What to run when nobody can sign in yet: no account and no service token."""
    if await people.count() or await tokens.list_tokens():
        return None
    return (
        "no account and no token exist yet: create the first admin on this machine with "
        f"`{BOOTSTRAP}` (or a token with `pomona token create --name NAME --scope admin`)"
    )
