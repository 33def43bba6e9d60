"""Self-service sign-up and password reset by email, against a real SMTP sink (aiosmtpd): the
test reads each delivered mail, takes the token from it, and follows it as a person would."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from pomona.accounts.models import MailToken
from pomona.db import utcnow
from pomona.settings import Settings
from tests.accounts.conftest import PASSWORD, accounts, make_person, sign_in
from tests.fixtures.smtp import Sink, smtp_sink, tls_sink  # noqa: F401 (fixtures)

NEW_PASSWORD = "a brand new secret"
TOKEN = re.compile(r'"token": "([A-Za-z0-9_-]+)"')


def mail_settings(database_url: str, tmp_path: Path, port: int, **extra: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "public_url": "https://patch.example.test",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "signup_enabled": True,
        "queue_retry_delay": 0.2,
        **extra,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str, tmp_path: Path, smtp_sink: Sink) -> Settings:  # noqa: F811
    # Roomier than the default limit of 3 an hour per email: one test resends several times.
    return mail_settings(database_url, tmp_path, smtp_sink.port, rate_signup_per_email="9/60")


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An app of its own settings, and a client of it (for settings other than the module's)."""
    from pomona.app import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://pomona.test") as http:
            yield application, http


def token_of(message: EmailMessage) -> str:
    body = message.get_content()
    assert isinstance(body, str)
    found = TOKEN.search(body)
    assert found, body
    return found[1]


async def arrived(sink: Sink, count: int) -> list[EmailMessage]:
    return await asyncio.to_thread(sink.wait, count)


SIGNUP = {
    "username": "bryson",
    "email": "Bryson@Example.org",
    "password": PASSWORD,
    "displayName": "Bryson T.",
}


async def test_sign_up_verify_and_sign_in(
    client: httpx.AsyncClient,
    app: FastAPI,
    smtp_sink: Sink,  # noqa: F811
) -> None:
    answer = await client.post("/api/v1/signup", json=SIGNUP)
    assert answer.status_code == 202, answer.text
    # Switched off until verified: signing in is refused.
    refused = await client.post(
        "/api/v1/session", json={"username": "bryson", "password": PASSWORD}
    )
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "account_disabled"
    (message,) = await arrived(smtp_sink, 1)
    assert message["To"] == "Bryson@Example.org"
    assert message["Subject"] == "Confirm your Pomona account"
    assert "https://patch.example.test/api/v1/signup/verify" in message.get_content()
    token = token_of(message)
    verified = await client.post("/api/v1/signup/verify", json={"token": token})
    assert verified.status_code == 200, verified.text
    assert verified.json() == {"username": "bryson"}
    await sign_in(client, "bryson")
    me = (await client.get("/api/v1/session")).json()
    assert me["user"]["roles"] == ["viewer"]
    assert me["user"]["displayName"] == "Bryson T."
    # The link works once.
    again = await client.post("/api/v1/signup/verify", json={"token": token})
    assert again.status_code == 422
    assert again.json()["errors"][0]["code"] == "token_invalid"
    log = await app.state.services.audit.search(target="user:bryson")
    assert [(e.action, e.via) for e in reversed(log.items)][:2] == [
        ("user.create", "signup"),
        ("user.verify", "signup"),
    ]


async def test_resend_and_a_known_email(
    client: httpx.AsyncClient,
    smtp_sink: Sink,  # noqa: F811
) -> None:
    assert (await client.post("/api/v1/signup", json=SIGNUP)).status_code == 202
    resent = await client.post("/api/v1/signup/resend", json={"email": "bryson@example.org"})
    assert resent.status_code == 202
    first, second = await arrived(smtp_sink, 2)
    assert token_of(first) != token_of(second)
    ok = await client.post("/api/v1/signup/verify", json={"token": token_of(second)})
    assert ok.status_code == 200
    # Verified: the earlier link is spent, and no resend goes to a verified account.
    spent = await client.post("/api/v1/signup/verify", json={"token": token_of(first)})
    assert spent.status_code == 422
    assert (
        await client.post("/api/v1/signup/resend", json={"email": "bryson@example.org"})
    ).status_code == 202
    # The same email again: the same answer, no second account, a mail saying so.
    other = {**SIGNUP, "username": "someone"}
    assert (await client.post("/api/v1/signup", json=other)).status_code == 202
    third = (await arrived(smtp_sink, 3))[2]
    assert third["Subject"] == "Your Pomona account"
    assert "password-reset" in third.get_content()
    await asyncio.sleep(0.5)
    assert len(smtp_sink.messages) == 3


async def test_expired_token_refused(
    client: httpx.AsyncClient,
    app: FastAPI,
    smtp_sink: Sink,  # noqa: F811
) -> None:
    assert (await client.post("/api/v1/signup", json=SIGNUP)).status_code == 202
    (message,) = await arrived(smtp_sink, 1)
    async with app.state.services.db.transaction() as session:
        await session.execute(update(MailToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    answer = await client.post("/api/v1/signup/verify", json={"token": token_of(message)})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["code"] == "token_invalid"


async def test_password_reset_by_email(
    client: httpx.AsyncClient,
    app: FastAPI,
    smtp_sink: Sink,  # noqa: F811
) -> None:
    await accounts(app).people.create("ana", PASSWORD, email="ana@example.org", roles_=["editor"])
    old_session = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    async with old_session:
        await sign_in(old_session, "ana")
        for login in ("ana", "ANA@example.org"):
            answer = await client.post("/api/v1/password-reset", json={"login": login})
            assert answer.status_code == 202, answer.text
        first, second = await arrived(smtp_sink, 2)
        assert first["To"] == "ana@example.org"
        assert first["Subject"] == "Reset your Pomona password"
        weak = await client.post(
            "/api/v1/password-reset/confirm", json={"token": token_of(first), "password": "short"}
        )
        assert weak.status_code == 422  # and the token is not spent by it
        done = await client.post(
            "/api/v1/password-reset/confirm",
            json={"token": token_of(first), "password": NEW_PASSWORD},
        )
        assert done.status_code == 200, done.text
        # The session opened before the reset has ended.
        assert (await old_session.get("/api/v1/session")).status_code == 401
    await sign_in(client, "ana", NEW_PASSWORD)
    for used in (first, second):  # used, and spent with it
        again = await client.post(
            "/api/v1/password-reset/confirm",
            json={"token": token_of(used), "password": "yet another one"},
        )
        assert again.status_code == 422
        assert again.json()["errors"][0]["code"] == "token_invalid"
    log = await app.state.services.audit.search(action="user.password_reset")
    assert [(e.actor, e.via, e.detail) for e in log.items] == [("ana", "email", "by email")]


async def test_unknown_account_same_answer_and_no_mail(
    client: httpx.AsyncClient,
    app: FastAPI,
    smtp_sink: Sink,  # noqa: F811
) -> None:
    await make_person(app, "nomail", "viewer")  # no email: nothing to send to
    for login in ("nobody", "nobody@example.org", "nomail"):
        answer = await client.post("/api/v1/password-reset", json={"login": login})
        assert answer.status_code == 202
        assert answer.json() == {"message": answer.json()["message"]}
    resent = await client.post("/api/v1/signup/resend", json={"email": "nobody@example.org"})
    assert resent.status_code == 202
    await asyncio.sleep(1.0)  # time for a mail the queue would have sent
    assert smtp_sink.messages == []


async def test_rate_limits_answer_429_then_recover(
    database_url: str,
    tmp_path: Path,
    smtp_sink: Sink,  # noqa: F811
) -> None:
    limited = mail_settings(
        database_url,
        tmp_path,
        smtp_sink.port,
        # Times are kept to the second, so a window of a few seconds is the shortest that a
        # loaded machine cannot slide past between two requests.
        rate_reset_per_account="2/5",
        rate_signin_per_address="3/60",
    )
    async with served(limited) as (_, http):
        for _ in range(2):
            ok = await http.post("/api/v1/password-reset", json={"login": "nobody"})
            assert ok.status_code == 202
        limited_answer = await http.post("/api/v1/password-reset", json={"login": "nobody"})
        assert limited_answer.status_code == 429
        assert limited_answer.json()["errors"][0]["code"] == "rate_limited"
        wait = int(limited_answer.headers["Retry-After"])
        assert 1 <= wait <= 5
        # Another account is not held back by this one's limit.
        other = await http.post("/api/v1/password-reset", json={"login": "somebody"})
        assert other.status_code == 202
        wrong = {"username": "x", "password": "wrong password"}
        for _ in range(3):
            assert (await http.post("/api/v1/session", json=wrong)).status_code == 401
        refused = await http.post("/api/v1/session", json=wrong)
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["code"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) <= 60
        await asyncio.sleep(wait + 1)
        again = await http.post("/api/v1/password-reset", json={"login": "nobody"})
        assert again.status_code == 202


async def test_sign_up_off_answers_404_and_reset_still_works(
    database_url: str,
    tmp_path: Path,
    smtp_sink: Sink,  # noqa: F811
) -> None:
    off = mail_settings(database_url, tmp_path, smtp_sink.port, signup_enabled=False)
    async with served(off) as (application, http):
        for path, body in (
            ("/api/v1/signup", SIGNUP),
            ("/api/v1/signup/verify", {"token": "x"}),
            ("/api/v1/signup/resend", {"email": "bryson@example.org"}),
        ):
            answer = await http.post(path, json=body)
            assert answer.status_code == 404, path
            assert answer.json()["errors"][0]["code"] == "signup_disabled"
        await accounts(application).people.create("ana", PASSWORD, email="ana@example.org")
        assert (await http.post("/api/v1/password-reset", json={"login": "ana"})).status_code == 202
        (message,) = await arrived(smtp_sink, 1)
        assert message["Subject"] == "Reset your Pomona password"


async def test_without_smtp_neither_is_offered(database_url: str, tmp_path: Path) -> None:
    """The default settings: no SMTP server, sign-up off."""
    async with served(Settings(data_dir=tmp_path / "data", database_url=database_url)) as (
        _,
        http,
    ):
        answer = await http.post("/api/v1/signup", json=SIGNUP)
        assert answer.status_code == 404
        answer = await http.post("/api/v1/password-reset", json={"login": "ana"})
        assert answer.status_code == 404
        assert answer.json()["errors"][0]["code"] == "reset_unavailable"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"smtp_host": "mail.example.org", "smtp_security": "none"}, "smtp_security"),
        ({"smtp_host": "127.0.0.1", "public_url": None}, "public_url"),
        ({"smtp_host": None, "signup_enabled": True}, "signup_enabled"),
        ({"rate_signin_per_address": "lots"}, "COUNT/SECONDS"),
        ({"signup_role": "overlord"}, "signup_role"),
    ],
)
def test_settings_refused(tmp_path: Path, values: dict[str, object], message: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=message):
        mail_settings("sqlite+aiosqlite://", tmp_path, 25, **values)


async def test_mail_over_tls_verified_by_a_ca_file(
    database_url: str,
    tmp_path: Path,
    tls_sink: tuple[Sink, str, Path],  # noqa: F811
) -> None:
    sink, mode, ca_file = tls_sink
    secure = mail_settings(
        database_url, tmp_path, sink.port, smtp_security=mode, smtp_ca_file=str(ca_file)
    )
    async with served(secure) as (_, http):
        assert (await http.post("/api/v1/signup", json=SIGNUP)).status_code == 202
        (message,) = await arrived(sink, 1)
        assert message["Subject"] == "Confirm your Pomona account"
