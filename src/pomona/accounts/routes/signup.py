"""Self-service sign-up (``/api/v1/signup``) and password reset by email
(``/api/v1/password-reset``). Public: the caller has no account yet, or has lost its password.
Every route is rate limited by the service (429 with ``Retry-After``)."""

from __future__ import annotations

from fastapi import Request
from starlette.status import HTTP_202_ACCEPTED

from pomona.accounts.deps import AccountsDep
from pomona.accounts.routes.schemas import (
    AcceptedOut,
    EmailIn,
    MailTokenIn,
    ResetConfirmIn,
    ResetIn,
    SignUpIn,
    VerifiedOut,
)
from pomona.budget_http import api_router
from pomona.errors_http import error_responses

api = api_router(prefix="/api/v1", tags=["accounts"])

_SENT = "if the address can be used, a mail with a link is on its way; it works for a limited time"


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


@api.post(
    "/signup",
    status_code=HTTP_202_ACCEPTED,
    response_model=AcceptedOut,
    responses=error_responses(400, 404, 409, 413, 422, 429),
)
async def sign_up(body: SignUpIn, request: Request, accounts: AccountsDep) -> AcceptedOut:
    """Create an account (when the server allows sign-up): it stays switched off until the
    link mailed to ``email`` is followed (`POST /api/v1/signup/verify`)."""
    await accounts.signup(
        body.username, body.email, body.password, body.displayName, _client(request)
    )
    return AcceptedOut(message=_SENT)


@api.post(
    "/signup/verify",
    response_model=VerifiedOut,
    responses=error_responses(400, 404, 413, 422),
)
async def verify(body: MailTokenIn, request: Request, accounts: AccountsDep) -> VerifiedOut:
    """Verify the email of a new account with the mailed token; the account can sign in."""
    return VerifiedOut(username=await accounts.signup.verify(body.token, _client(request)))


@api.post(
    "/signup/resend",
    status_code=HTTP_202_ACCEPTED,
    response_model=AcceptedOut,
    responses=error_responses(400, 404, 413, 422, 429),
)
async def resend(body: EmailIn, request: Request, accounts: AccountsDep) -> AcceptedOut:
    """Mail a new verification link to an account of ``email`` not verified yet. Answers the
    same whether or not there is one."""
    await accounts.signup.resend(body.email, _client(request))
    return AcceptedOut(message=_SENT)


@api.post(
    "/password-reset",
    status_code=HTTP_202_ACCEPTED,
    response_model=AcceptedOut,
    responses=error_responses(400, 404, 413, 422, 429),
)
async def reset(body: ResetIn, request: Request, accounts: AccountsDep) -> AcceptedOut:
    """Mail a password-reset link to the local account with this username or email. Answers
    the same whether or not there is one."""
    await accounts.password_reset.request(body.login, _client(request))
    return AcceptedOut(message=_SENT)


@api.post(
    "/password-reset/confirm",
    response_model=VerifiedOut,
    responses=error_responses(400, 404, 413, 422),
)
async def reset_confirm(
    body: ResetConfirmIn, request: Request, accounts: AccountsDep
) -> VerifiedOut:
    """Set a new password with the mailed token (once); every session of the account ends."""
    name = await accounts.password_reset.confirm(body.token, body.password, _client(request))
    return VerifiedOut(username=name)
