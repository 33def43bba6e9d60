"""Remote imports as jobs, on every engine, run by the app's embedded queue: the request is checked
at once, answers 202 with a job, and the job ends with the import report or the errors.

The other patch source is a plain HTTP server on loopback serving static JSON, as a feed would.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from pomona.audit.service import Who
from pomona.auth.scopes import Principal
from pomona.queue.jobs import JobService
from pomona.queue.models import Job
from pomona.settings import Settings
from pomona.titles.tasks import REMOTE_IMPORT
from tests.conftest import fixture_text, make_token

EXAMPLE = json.loads(fixture_text("example.json"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # Loopback is allowed here so the app can fetch from the test's source; other private
    # networks stay refused.
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        fetch_allowed_networks=["127.0.0.0/8"],
        queue_retry_delay=0.2,
    )


@pytest.fixture
def source() -> Iterator[str]:
    """A patch source on loopback: /jamf/v1/software lists Example, Other (whose /patch is
    missing) and Alias (whose /patch serves Example's definition)."""
    documents = {
        "/jamf/v1/software": [{"id": "Example"}, {"id": "Other"}, {"id": "Alias"}],
        "/jamf/v1/patch/Example": EXAMPLE,
        "/jamf/v1/patch/Alias": EXAMPLE,
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = documents.get(self.path)
            body = json.dumps(found).encode() if found is not None else b"{}"
            self.send_response(200 if found is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/jamf/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


async def finished(client: httpx.AsyncClient, job: dict[str, Any], headers: Any) -> Any:
    for _ in range(600):
        if job["status"] in ("succeeded", "failed"):
            return job
        await asyncio.sleep(0.05)
        answer = await client.get(job["url"], headers=headers)
        assert answer.status_code == 200, answer.text
        job = answer.json()
    raise AssertionError(f"job {job['id']} did not finish: {job}")


async def start(
    client: httpx.AsyncClient, headers: Any, **body: Any
) -> tuple[httpx.Response, dict[str, Any]]:
    answer = await client.post("/api/v1/imports/remote", json=body, headers=headers)
    assert answer.status_code == 202, answer.text
    return answer, answer.json()


async def test_import_is_a_job_with_the_report_and_an_audit_record(
    client: httpx.AsyncClient, admin: dict[str, str], source: str
) -> None:
    answer, job = await start(client, admin, url=source, ids=["Example"])
    assert answer.headers["location"] == job["url"] == f"/api/v1/jobs/{job['id']}"
    assert job["status"] in ("queued", "running", "succeeded")
    assert job["kind"] == "titles.import-remote"
    assert job["actor"] == "token:admin"
    assert job["request"] == {"url": source, "ids": ["Example"], "policy": "skip", "dryRun": False}
    assert job["result"] is None or job["status"] == "succeeded"

    done = await finished(client, job, admin)
    assert done["status"] == "succeeded", done
    assert done["startedAt"]
    assert done["finishedAt"]
    assert done["createdAt"] <= done["finishedAt"]
    assert done["errors"] is None
    assert done["errorStatus"] is None
    report = done["result"]
    assert report["created"] == 1
    assert report["dryRun"] is False
    assert report["items"] == [
        {"source": "/Example", "id": "Example", "result": "create", "revision": 1, "warnings": []}
    ]
    title = await client.get("/api/v1/titles/Example", headers=admin)
    assert title.status_code == 200
    audit = await client.get("/api/v1/audit", params={"target": "title:Example"}, headers=admin)
    events = audit.json()["items"]
    assert [(e["action"], e["actor"], e["tokenName"]) for e in events] == [
        ("title.import", "token:admin", "admin")
    ]

    # Run again: the policy applies as before (skip), and nothing new is written.
    _, again = await start(client, admin, url=source, ids=["Example"])
    report = (await finished(client, again, admin))["result"]
    assert (report["created"], report["skipped"]) == (0, 1)


async def test_dry_run_and_copy_policy(
    client: httpx.AsyncClient, admin: dict[str, str], source: str
) -> None:
    created = await client.post(
        "/api/v1/titles", content=fixture_text("example.json"), headers=admin
    )
    assert created.status_code == 201
    _, job = await start(client, admin, url=source, ids=["Example"], policy="copy", dryRun=True)
    report = (await finished(client, job, admin))["result"]
    assert report["dryRun"] is True
    assert [(i["id"], i["result"], i["revision"]) for i in report["items"]] == [
        ("Example-copy", "copy", None)
    ]
    assert (await client.get("/api/v1/titles/Example-copy", headers=admin)).status_code == 404

    _, job = await start(client, admin, url=source, ids=["Example"], policy="copy")
    report = (await finished(client, job, admin))["result"]
    assert report["copied"] == 1
    assert (await client.get("/api/v1/titles/Example-copy", headers=admin)).status_code == 200


async def test_a_failing_import_is_a_failed_job_with_the_errors(
    client: httpx.AsyncClient, admin: dict[str, str], source: str
) -> None:
    _, job = await start(client, admin, url=source, ids=["Nope"])
    done = await finished(client, job, admin)
    assert done["status"] == "failed"
    assert done["errorStatus"] == 404
    assert done["result"] is None
    assert done["errors"][0]["path"] == "/ids"
    assert "does not list: Nope" in done["errors"][0]["message"]

    # Every title, one of which the source cannot serve: nothing is written, and the job says
    # which URL failed. Not retried: the same input fails the same way.
    _, job = await start(client, admin, url=source)
    done = await finished(client, job, admin)
    assert (done["status"], done["attempts"]) == ("failed", 1), done
    assert done["errorStatus"] == 422
    assert "/patch/Other answered 404" in done["errors"][0]["message"]
    assert (await client.get("/api/v1/titles/Example", headers=admin)).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/jamf/v1",  # private
        "http://169.254.169.254/jamf/v1",  # cloud metadata
        "http://[::ffff:192.168.0.1]/jamf/v1",  # private, inside IPv6
        "ftp://patch.example.com/jamf/v1",
        "http://[::1/jamf/v1",  # urlsplit raises ValueError: refused, not a server error
        "http://[::1]:99999/jamf/v1",  # a port out of range
        "http://\x00host/jamf/v1",
    ],
)
async def test_refused_addresses_are_refused_at_once(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], url: str
) -> None:
    answer = await client.post("/api/v1/imports/remote", json={"url": url}, headers=admin)
    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["errors"]
    assert (problem["path"], problem["location"], problem["code"]) == (
        "/url",
        "body",
        "fetch_failed",
    )
    assert "location" not in answer.headers
    async with app.state.services.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Job)) == 0


async def test_request_checks_and_job_visibility(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], source: str
) -> None:
    bad = await client.post(
        "/api/v1/imports/remote",
        json={"url": source, "ids": ["Good", "not valid!"], "policy": "merge"},
        headers=admin,
    )
    assert bad.status_code == 422
    assert {p["path"] for p in bad.json()["errors"]} == {"/policy"}
    bad = await client.post(
        "/api/v1/imports/remote", json={"url": source, "ids": ["Good", "not valid!"]}, headers=admin
    )
    assert bad.status_code == 422
    assert [p["path"] for p in bad.json()["errors"]] == ["/ids/1"]

    limited = await make_token(app, "limited", "titles:write", titles=["Alias"])
    denied = await client.post(
        "/api/v1/imports/remote", json={"url": source, "ids": ["Example"]}, headers=limited
    )
    assert denied.status_code == 403
    # Alias turns out to be Example, which this token may not write: the job acts with the
    # token's rights, so it fails the same way.
    _, job = await start(client, limited, url=source, ids=["Alias"])
    done = await finished(client, job, limited)
    assert (done["status"], done["errorStatus"]) == ("failed", 403), done
    assert (await client.get("/api/v1/titles/Example", headers=admin)).status_code == 404

    _, job = await start(client, admin, url=source, ids=["Example"])
    other = await make_token(app, "other", "titles:write")
    assert (await client.get(job["url"], headers=other)).status_code == 403
    assert (await client.get(job["url"])).status_code == 401
    missing = await client.get("/api/v1/jobs/0123abcd", headers=admin)
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["location"] == "path"
    await finished(client, job, admin)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_imported_titles_show_on_this_servers_feed_at_once(
    settings: Settings, source: str
) -> None:
    """The embedded consumer's writes invalidate this process's feed, as the API's writes do.
    With a refresh interval of a minute, only that invalidation can make the title appear."""
    from pomona.app import create_app

    settings = settings.model_copy(update={"feed_refresh_seconds": 60.0})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pomona.test") as client:
            assert (await client.get("/jamf/v1/software")).json() == []  # the feed is now cached
            admin = await make_token(app, "admin", "admin")
            _, job = await start(client, admin, url=source, ids=["Example"])
            assert (await finished(client, job, admin))["status"] == "succeeded"
            served = await client.get("/jamf/v1/patch/Example")
            assert served.status_code == 200, served.text
            assert served.json()["currentVersion"] == EXAMPLE["currentVersion"]


async def test_the_job_ends_in_the_transaction_that_writes_the_titles(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], settings: Settings, source: str
) -> None:
    """A task that dies after the import's transaction commits and is run again must find the
    job finished: with ``copy``, importing twice would store a second copy."""
    created = await client.post(
        "/api/v1/titles", content=fixture_text("example.json"), headers=admin
    )
    assert created.status_code == 201
    jobs = JobService(app.state.services.db)
    caller = Principal("token:admin", frozenset({"admin"}))
    params = {"url": source, "ids": ["Example"], "policy": "copy", "dryRun": False}
    job = await jobs.create(REMOTE_IMPORT, caller, Who.of("token:admin"), params)

    # The work alone, as if the task's process died right after it (before JobService.run
    # could record anything): the job is already finished, with its report.
    report = await app.state.services.titles.import_remote(job, settings)
    stored = await jobs.get(job.job_id)
    assert stored.status == "succeeded"
    assert json.loads(stored.result or "null") == report
    assert report["copied"] == 1

    # The task run again does nothing.
    await jobs.run(
        job.job_id,
        lambda again: app.state.services.titles.import_remote(again, settings),
        last_attempt=False,
    )
    listed = await client.get("/api/v1/titles", params={"q": "Example"}, headers=admin)
    assert sorted(t["id"] for t in listed.json()["items"]) == ["Example", "Example-copy"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_job_the_queue_cannot_take_fails_at_once_with_503(
    settings: Settings, source: str
) -> None:
    from pomona.app import create_app
    from tests.conftest import free_port

    unreachable = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app = create_app(
        settings.model_copy(update={"queue_url": unreachable, "queue_embedded_workers": 0})
    )
    async with app.router.lifespan_context(app):
        admin = await make_token(app, "admin", "admin")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pomona.test") as client:
            answer = await client.post(
                "/api/v1/imports/remote", json={"url": source, "ids": ["Example"]}, headers=admin
            )
            assert answer.status_code == 503, answer.text
            assert "job queue is unavailable" in answer.json()["errors"][0]["message"]
        async with app.state.services.db.sessions() as session:
            [job] = list(await session.scalars(select(Job)))
    assert (job.status, job.error_kind) == ("failed", "unavailable")


# -- what a token limited to some titles may write ------------------------------------------------


async def limited(app: FastAPI, *titles: str) -> dict[str, str]:
    return await make_token(app, "limited", "titles:write", titles=list(titles))


def definition(title_id: str) -> dict[str, Any]:
    return {**EXAMPLE, "id": title_id}


async def restore(client: httpx.AsyncClient, headers: Any, *ids: str, **params: Any) -> Any:
    return await client.post(
        "/api/v1/backups/restore",
        content=json.dumps([definition(i) for i in ids]),
        params=params,
        headers={**headers, "Content-Type": "application/json"},
    )


async def stored(client: httpx.AsyncClient) -> list[str]:
    return [s["id"] for s in (await client.get("/jamf/v1/software")).json()]


async def test_a_copy_is_refused_to_a_token_that_may_not_write_its_id(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await restore(client, admin, "Composer", "Firefox")
    token = await limited(app, "Composer", "Firefox")

    for dry_run in (True, False):
        refused = await restore(client, token, "Composer", "Firefox", policy="copy", dryRun=dry_run)
        assert refused.status_code == 403, refused.text
        errors = refused.json()["errors"]
        # Every refused id at once, each located at its document.
        assert [(e["path"], e["code"]) for e in errors] == [
            ("/0", "title_forbidden"),
            ("/1", "title_forbidden"),
        ]
        assert "'Composer-copy'" in errors[0]["message"]
        assert "'Firefox-copy'" in errors[1]["message"]
    assert await stored(client) == ["Composer", "Firefox"]
    audit = (await client.get("/api/v1/audit", headers=admin)).json()["items"]
    assert all(event["actor"] != "token:limited" for event in audit)

    # The same restore replacing (the ids it names are the ids it writes) is the token's right.
    replaced = await restore(client, token, "Composer", "Firefox", policy="replace")
    assert replaced.status_code == 200, replaced.text
    # And a token that may write the copy's id may copy.
    copier = await make_token(app, "copier", "titles:write", titles=["Composer", "Composer-copy"])
    copied = await restore(client, copier, "Composer", policy="copy")
    assert copied.status_code == 200, copied.text
    assert await stored(client) == ["Composer", "Composer-copy", "Firefox"]


async def test_every_title_named_that_a_token_may_not_write_is_listed_at_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    refused = await restore(client, await limited(app, "Composer"), "Composer", "Other", "Third")
    assert refused.status_code == 403, refused.text
    assert [e["path"] for e in refused.json()["errors"]] == ["/1", "/2"]
    assert await stored(client) == []


async def test_a_remote_import_as_a_copy_is_refused_to_a_limited_token(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], source: str
) -> None:
    created = await client.post("/api/v1/titles", json=definition("Example"), headers=admin)
    assert created.status_code == 201
    token = await limited(app, "Example")
    _, job = await start(client, token, url=source, ids=["Example"], policy="copy")
    done = await finished(client, job, token)
    assert (done["status"], done["errorStatus"]) == ("failed", 403), done
    assert [e["code"] for e in done["errors"]] == ["title_forbidden"]
    assert "'Example-copy'" in done["errors"][0]["message"]
    assert (await client.get("/api/v1/titles/Example-copy", headers=admin)).status_code == 404
