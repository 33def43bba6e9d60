"""Signing in and out of the web UI: the API's sign-in (accounts.signin: local passwords, the
directory, the second factor) and sessions, with the API's cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request, Response

from pomona.accounts.deps import AccountsDep
from pomona.accounts.routes.session import end_session, set_session_cookie
from pomona.accounts.signin import Attempt
from pomona.auth.deps import Caller
from pomona.deps import SettingsDep
from pomona.errors import DomainError
from pomona.errors_http import status_of
from pomona.ui.fields import problems_by_field
from pomona.ui.pages_http import PREFIX, redirect, render, safe_next, ui_router

router = ui_router(prefix=PREFIX)
Next = Annotated[str | None, Query(max_length=2000)]


@router.get("/signin")
async def signin_page(request: Request, accounts: AccountsDep, next: Next = None) -> Response:
    return render(
        request,
        "signin.html",
        next=safe_next(next),
        oidc=accounts.oidc is not None,
        directory=accounts.directory is not None,
        errors={},
        username="",
        ask_code=False,
    )


@router.post("/signin")
async def signin(
    request: Request,
    accounts: AccountsDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=255)],
    password: Annotated[str, Form(max_length=1024)],
    code: Annotated[str | None, Form(max_length=64)] = None,
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    try:
        opened = await accounts.signin(
            Attempt(
                username,
                password,
                code or None,
                request.client.host if request.client else None,
                request.headers.get("user-agent"),
            )
        )
    except DomainError as exc:
        return render(
            request,
            "signin.html",
            status_of(exc),
            next=safe_next(next),
            oidc=accounts.oidc is not None,
            directory=accounts.directory is not None,
            errors=problems_by_field(exc.problems, ("/username", "/password", "/code")),
            username=username,
            ask_code=exc.code == "totp_required" or bool(code),
        )
    answer = redirect(request, safe_next(next))
    set_session_cookie(answer, request, settings, opened.secret)
    return answer


@router.post("/signout")
async def signout(request: Request, accounts: AccountsDep, caller: Caller) -> Response:
    return await end_session(request, accounts, caller, redirect(request, f"{PREFIX}/signin"))
