"""/healthz, /readyz, /metrics and request ids, in process, on every database engine."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from pomona.app import create_app
from pomona.settings import Settings
from tests.conftest import fixture_text
from tests.ops.scrape import sample


async def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pomona.test")


async def test_healthz_says_alive(client: httpx.AsyncClient) -> None:
    answer = await client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "alive"}


async def test_readyz_lists_each_check(client: httpx.AsyncClient) -> None:
    answer = await client.get("/readyz")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "storage", "queue"}


async def test_readyz_is_503_naming_what_failed(settings: Settings, tmp_path: Path) -> None:
    store = tmp_path / "store"
    app = create_app(settings.model_copy(update={"package_dir": store}))
    async with app.router.lifespan_context(app), await _client(app) as client:
        assert (await client.get("/readyz")).status_code == 200
        shutil.rmtree(store)  # the package volume went away
        answer = await client.get("/readyz")
    assert answer.status_code == 503
    problems = answer.json()["errors"]
    assert [p["code"] for p in problems] == ["storage_unavailable"]
    assert str(store) in problems[0]["message"]


async def test_every_answer_has_a_request_id_and_a_sane_one_is_kept(
    client: httpx.AsyncClient,
) -> None:
    made = (await client.get("/healthz")).headers["x-request-id"]
    again = (await client.get("/jamf/v1/software")).headers["x-request-id"]
    assert made
    assert made != again
    kept = await client.get("/healthz", headers={"X-Request-ID": "lb-1234.abc"})
    assert kept.headers["x-request-id"] == "lb-1234.abc"
    for insane in ("two words", "x" * 200, "tab\there"):
        answer = await client.get("/jamf/v1/", headers={"X-Request-ID": insane})
        assert answer.headers["x-request-id"] != insane


async def test_the_audit_log_records_the_request_id(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await client.post(
        "/api/v1/titles",
        content=fixture_text("example.json"),
        headers={**admin, "Content-Type": "application/json", "X-Request-ID": "write-42"},
    )
    assert created.status_code == 201, created.text
    log = (await client.get("/api/v1/audit", headers=admin)).json()["items"]
    assert [e["requestId"] for e in log if e["action"] == "title.create"] == ["write-42"]


async def test_metrics_count_requests_by_route_template_with_bytes(
    client: httpx.AsyncClient,
) -> None:
    before = (await client.get("/metrics")).text
    feed = await client.get("/jamf/v1/software", headers={"Accept-Encoding": "identity"})
    for title in ("A", "B", "C"):
        await client.get(f"/jamf/v1/patch/{title}")  # 404s, counted under one template
    await client.get("/api/v1/titles/nothing-here")
    await client.get("/no/such/path/at/all")
    after = await client.get("/metrics")
    assert after.status_code == 200
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text

    def grew(name: str, **labels: str) -> float:
        return sample(text, name, **labels) - sample(before, name, **labels)

    software = {"method": "GET", "route": "/jamf/v1/software", "status": "200"}
    assert grew("pomona_http_requests_total", **software) == 1
    assert grew("pomona_http_response_bytes_total", route="/jamf/v1/software") == len(feed.content)
    patch = {"method": "GET", "route": "/jamf/v1/patch/{title_id}", "status": "404"}
    assert grew("pomona_http_requests_total", **patch) == 3
    api = {"method": "GET", "route": "/api/v1/titles/{title_id}"}
    assert grew("pomona_http_requests_total", **api) == 1
    assert grew("pomona_http_requests_total", route="unmatched", status="404") == 1
    hist = {"method": "GET", "route": "/jamf/v1/software"}
    assert grew("pomona_http_request_duration_seconds_count", **hist) == 1
    assert grew("pomona_http_request_duration_seconds_bucket", le="+Inf", **hist) == 1
    assert "/jamf/v1/patch/A" not in text  # no label holds a value a client chose
    assert "pomona_queue_pending" in text


async def test_metrics_time_jobs_by_task_and_outcome(tmp_path: Path, database_url: str) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, queue_retries=0)
    app = create_app(settings)
    async with app.router.lifespan_context(app), await _client(app) as client:
        before = (await client.get("/metrics")).text
        tasks = app.state.services.tasks
        tasks.probe("fine", seconds=0.1).get(blocking=True, timeout=60)
        with pytest.raises(Exception, match="failing attempt"):
            tasks.probe("broken", fail=1).get(blocking=True, timeout=60)
        text = (await client.get("/metrics")).text
    name = "pomona_job_duration_seconds_count"
    ok = {"task": "queue.probe", "outcome": "succeeded"}
    failed = {"task": "queue.probe", "outcome": "failed"}
    assert sample(text, name, **ok) - sample(before, name, **ok) == 1
    assert sample(text, name, **failed) - sample(before, name, **failed) == 1
    assert sample(text, "pomona_job_duration_seconds_sum", **ok) >= 0.1


@pytest.mark.parametrize(
    ("update", "headers", "status"),
    [
        ({"metrics_token": "s3cret"}, {}, 401),
        ({"metrics_token": "s3cret"}, {"Authorization": "Bearer wrong"}, 401),
        ({"metrics_token": "s3cret"}, {"Authorization": "Bearer s3cret"}, 200),
        ({"metrics_allowed_networks": ["10.0.0.0/8"]}, {}, 403),
        ({"metrics_allowed_networks": ["10.0.0.0/8", "127.0.0.1"]}, {}, 200),
        ({"metrics_enabled": False}, {}, 404),
    ],
)
async def test_metrics_protection(
    settings: Settings, update: dict[str, object], headers: dict[str, str], status: int
) -> None:
    app = create_app(Settings(**{**settings.model_dump(), **update}))
    async with app.router.lifespan_context(app), await _client(app) as client:
        answer = await client.get("/metrics", headers=headers)
    assert answer.status_code == status, answer.text
    if status != 200:
        assert answer.json()["errors"][0]["code"]
