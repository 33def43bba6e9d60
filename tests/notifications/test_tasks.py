"""The notification tasks on the real queue: the dispatch task, run by the embedded workers,
reads new events and queues a send task that mails an admin about a failure through the SMTP
sink; an event no subscription matches mails nobody."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio import to_thread
from fastapi import FastAPI

from pomona.accounts.values import AccountEdit
from pomona.audit.service import Who
from pomona.events.outbox import emit
from pomona.inbound.events import ACTION_FAILED, ActionFailed
from pomona.settings import Settings
from tests.accounts.conftest import accounts, make_person
from tests.fixtures.smtp import Sink, smtp_sink  # noqa: F401


@pytest.fixture
def settings(tmp_path: Path, smtp_sink: Sink) -> Settings:  # noqa: F811
    return Settings(
        data_dir=tmp_path / "data",
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink.port,
        smtp_security="none",
        public_url="https://pomona.example.com",
    )


async def _dispatch(app: FastAPI) -> dict[str, Any]:
    tasks = app.state.services.tasks
    found: dict[str, Any] = await to_thread.run_sync(
        lambda: tasks.notifications_dispatch().get(blocking=True, timeout=30)
    )
    return found


async def test_the_dispatch_task_mails_an_admin_about_a_failure(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    smtp_sink: Sink,  # noqa: F811
) -> None:
    await make_person(app, "root", "admin")
    await accounts(app).people.edit("root", AccountEdit(email="root@example.com"))
    await _dispatch(app)  # the first run starts at the present
    body = {"name": "prod", "auth": "header", "headers": {"X-Secret": "0123456789abcdef"}}
    made = await client.post("/api/v1/inbound/sources", json=body, headers=admin)
    assert made.status_code == 201
    quiet = await _dispatch(app)
    assert (quiet["read"], quiet["immediate"]) == (1, [])  # jamf.source_created: no default
    async with app.state.services.db.transaction() as session:
        failed = ActionFailed(
            source="prod", delivery=1, webhookEvent="PushSent", action="probe.x", message="away"
        )
        event_id = await emit(session, Who("jamf:prod"), ACTION_FAILED, failed)
    found = await _dispatch(app)
    assert len(found["immediate"]) == 1
    [mail] = smtp_sink.wait(1)
    assert (mail["To"], mail["Subject"]) == ("root@example.com", "[Pomona] jamf.action_failed")
    assert event_id in mail.get_body(("plain",)).get_content()
    assert 'subscribed to "jamf.*failed"' in mail.get_body(("plain",)).get_content()
