"""Static feed publication: a change publishes every namespace's feed, byte for byte, to a
directory or S3; unchanged files stay as they are; a crash before the index keeps the old feed
whole; and nginx serving the tree answers as Pomona does."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench.procs import Missing, need
from fastapi import FastAPI

from pomona.app import create_app
from pomona.db import Database
from pomona.settings import Settings
from pomona.titles.feed import FeedCache
from pomona.titles.publishing import DirectoryTarget, FeedFile, FeedPublisher
from tests.conftest import Server, fixture_text, free_port, make_token, serving, unavailable
from tests.packages.conftest import CREDENTIALS, new_bucket

TITLES = "/api/v1/titles"
FEEDS = {"jamf/v1": "/jamf/v1", "jamf/v1/acme": "/jamf/v1/acme"}  # the tree's folder: its URL


def definition(title_id: str, **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(fixture_text("example.json"))
    document.update(id=title_id, **changes)
    return document


@asynccontextmanager
async def running(
    settings: Settings,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, dict[str, str]]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pomona.test") as client:
            yield app, client, await make_token(app, "admin", "admin")


async def fill(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    """Two titles on the main feed, one on the feed of a namespace that decorates its ids."""
    body = {"slug": "acme", "displayName": "Acme", "decorateIds": True}
    made = await client.post("/api/v1/namespaces", json=body, headers=admin)
    assert made.status_code == 201, made.text
    for title_id, into in (("Firefox", None), ("Zoom", None), ("Tool", "acme")):
        params = {"namespace": into} if into else {}
        answer = await client.post(TITLES, json=definition(title_id), params=params, headers=admin)
        assert answer.status_code == 201, answer.text


async def served(get: Callable[[str], Awaitable[httpx.Response]]) -> dict[str, bytes]:
    """What a feed server answers, as the tree of files it should be published as."""
    tree: dict[str, bytes] = {}
    for folder, url in FEEDS.items():
        software = await get(f"{url}/software")
        assert software.status_code == 200
        tree[f"{folder}/software"] = software.content
        for entry in software.json():
            patch = await get(f"{url}/patch/{entry['id']}")
            assert patch.status_code == 200
            tree[f"{folder}/patch/{entry['id']}"] = patch.content
    return tree


def directory(root: Path) -> dict[str, bytes]:
    tree: dict[str, bytes] = {}
    for path in (root / "jamf").rglob("*"):
        try:
            tree[path.relative_to(root).as_posix()] = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            continue  # a folder, or a file removed by the publisher since the listing
    return tree


async def settled(
    client: httpx.AsyncClient, read: Callable[[], dict[str, bytes]]
) -> dict[str, bytes]:
    """The published tree once it equals Pomona's feed (the publisher runs every 50 ms)."""
    expected = await served(client.get)
    for _ in range(300):
        found = await asyncio.to_thread(read)
        if found == expected:
            break
        await asyncio.sleep(0.05)
    assert found == expected
    return found


async def test_a_change_publishes_every_namespace_to_a_directory(
    database_url: str, tmp_path: Path
) -> None:
    root = tmp_path / "www"
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        static_feed_dir=root,
        feed_refresh_seconds=0.05,
    )
    async with running(settings) as (_, client, admin):
        await fill(client, admin)
        tree = await settled(client, lambda: directory(root))
        assert set(tree) == {
            "jamf/v1/software",
            "jamf/v1/patch/Firefox",
            "jamf/v1/patch/Zoom",
            "jamf/v1/acme/software",
            "jamf/v1/acme/patch/Tool_Acme",
        }
        firefox = root / "jamf/v1/patch/Firefox"
        before = firefox.stat()

        # A disabled title and a deleted one leave the tree; the rest is not written again.
        disabled = await client.post(f"{TITLES}/Zoom/disable", headers=admin)
        assert disabled.status_code == 200, disabled.text
        deleted = await client.delete(f"{TITLES}/Tool", headers=admin)
        assert deleted.status_code == 204, deleted.text
        tree = await settled(client, lambda: directory(root))

        assert set(tree) == {"jamf/v1/software", "jamf/v1/patch/Firefox", "jamf/v1/acme/software"}
        assert tree["jamf/v1/acme/software"] == b"[]\n"
        assert not (root / "jamf/v1/acme/patch").exists()
        after = firefox.stat()
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


async def test_a_change_publishes_to_s3_with_the_feeds_content_type_and_etag(
    s3_endpoint: str, tmp_path: Path
) -> None:
    import boto3

    bucket = new_bucket(s3_endpoint)
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'pomona.db'}",
        static_feed_url=f"s3://{bucket}/feeds",
        s3_endpoint_url=s3_endpoint,
        s3_region="us-east-1",
        s3_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        s3_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        feed_refresh_seconds=0.05,
    )
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )

    def bucket_tree() -> dict[str, bytes]:
        tree: dict[str, bytes] = {}
        for item in s3.list_objects_v2(Bucket=bucket, Prefix="feeds/jamf/").get("Contents", []):
            try:
                found = s3.get_object(Bucket=bucket, Key=item["Key"])
            except s3.exceptions.NoSuchKey:
                continue  # removed by the publisher since the listing: read again later
            tree[item["Key"].removeprefix("feeds/")] = found["Body"].read()
        return tree

    async with running(settings) as (_, client, admin):
        await fill(client, admin)
        await settled(client, bucket_tree)
        for key, url in (
            ("jamf/v1/software", "/jamf/v1/software"),
            ("jamf/v1/acme/patch/Tool_Acme", "/jamf/v1/acme/patch/Tool_Acme"),
        ):
            head = s3.head_object(Bucket=bucket, Key=f"feeds/{key}")
            own = await client.get(url, headers={"Accept-Encoding": "identity"})
            assert head["ContentType"] == own.headers["content-type"] == "application/json"
            assert head["CacheControl"] == own.headers["cache-control"]
            assert head["Metadata"]["pomona-etag"] == own.headers["etag"].strip('"')
        firefox = s3.head_object(Bucket=bucket, Key="feeds/jamf/v1/patch/Firefox")

        deleted = await client.delete(f"{TITLES}/Zoom", headers=admin)
        assert deleted.status_code == 204, deleted.text
        tree = await settled(client, bucket_tree)

        assert "jamf/v1/patch/Zoom" not in tree
        unchanged = s3.head_object(Bucket=bucket, Key="feeds/jamf/v1/patch/Firefox")
        assert unchanged["LastModified"] == firefox["LastModified"]


async def test_a_target_that_fails_is_logged_and_tried_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "mount"
    blocker.write_bytes(b"")  # a file where the directory should be: nothing can be made under it
    root = blocker / "www"
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'pomona.db'}",
        static_feed_dir=root,
        feed_refresh_seconds=0.05,
    )
    async with running(settings) as (_, client, admin):
        await fill(client, admin)
        assert (await client.get("/jamf/v1/software")).status_code == 200
        for _ in range(100):
            if "cannot publish" in caplog.text:
                break
            await asyncio.sleep(0.05)
        assert f"feed: cannot publish to {root}; trying again" in caplog.text

        blocker.unlink()  # the mount is back
        await settled(client, lambda: directory(root))


async def test_a_file_removed_by_hand_comes_back_without_a_change(tmp_path: Path) -> None:
    root = tmp_path / "www"
    settings = Settings(
        data_dir=tmp_path / "data", database_url=f"sqlite+aiosqlite:///{tmp_path / 'pomona.db'}"
    )
    async with running(settings) as (app, client, admin):
        await fill(client, admin)
        publisher = FeedPublisher(app.state.feed, DirectoryTarget(root), recheck_seconds=0.2)
        watching = asyncio.create_task(publisher.watch(0.05))
        try:
            await settled(client, lambda: directory(root))
            (root / "jamf/v1/patch/Zoom").unlink()
            await settled(client, lambda: directory(root))
        finally:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching


class CrashBeforeIndex(DirectoryTarget):
    """A publication that dies once the patches are written, before any index is."""

    def put(self, file: FeedFile) -> None:
        if file.key.endswith("/software"):
            raise OSError("the process died here")
        super().put(file)


async def test_a_crash_before_the_index_leaves_the_old_feed_whole(tmp_path: Path) -> None:
    root = tmp_path / "www"
    settings = Settings(
        data_dir=tmp_path / "data", database_url=f"sqlite+aiosqlite:///{tmp_path / 'pomona.db'}"
    )
    async with running(settings) as (app, client, admin):
        await fill(client, admin)
        await FeedPublisher(app.state.feed, DirectoryTarget(root)).publish()
        old = directory(root)
        assert old == await served(client.get)

        # The changes: one title edited, one deleted, one new.
        edited = await client.put(
            f"{TITLES}/Firefox", json=definition("Firefox", name="Firefox ESR"), headers=admin
        )
        assert edited.status_code == 200, edited.text
        assert (await client.delete(f"{TITLES}/Zoom", headers=admin)).status_code == 204
        new = await client.post(TITLES, json=definition("Chrome"), headers=admin)
        assert new.status_code == 201, new.text
        with pytest.raises(OSError, match="died"):
            await FeedPublisher(app.state.feed, CrashBeforeIndex(root)).publish()

        # Each index is the old one, and every title it names has its file.
        crashed = directory(root)
        for folder in FEEDS:
            index = crashed[f"{folder}/software"]
            assert index == old[f"{folder}/software"]
            for entry in json.loads(index):
                assert f"{folder}/patch/{entry['id']}" in crashed
        assert "Zoom" in crashed["jamf/v1/software"].decode()
        assert "jamf/v1/patch/Zoom" in crashed

        done = await FeedPublisher(app.state.feed, DirectoryTarget(root)).publish()
        assert directory(root) == await served(client.get)
        assert (done.written, done.removed) == (1, 1)  # the index; the patches were already there


async def test_a_process_behind_never_replaces_a_newer_feed(tmp_path: Path) -> None:
    root = tmp_path / "www"
    settings = Settings(
        data_dir=tmp_path / "data", database_url=f"sqlite+aiosqlite:///{tmp_path / 'pomona.db'}"
    )
    async with running(settings) as (app, client, admin):
        await fill(client, admin)
        # Another process's feed: read once, then not again for an hour.
        db = Database(settings.resolved_database_url)
        behind = FeedCache(db, refresh_seconds=3600)
        try:
            await behind.published()
            assert (await client.delete(f"{TITLES}/Zoom", headers=admin)).status_code == 204
            await FeedPublisher(app.state.feed, DirectoryTarget(root)).publish()
            newer = directory(root)
            assert "jamf/v1/patch/Zoom" not in newer

            done = await FeedPublisher(behind, DirectoryTarget(root)).publish()
        finally:
            await db.dispose()

        assert done.skipped
        assert directory(root) == newer == await served(client.get)


async def test_a_file_changed_behind_the_publishers_back_is_written_again(tmp_path: Path) -> None:
    root = tmp_path / "www"
    settings = Settings(
        data_dir=tmp_path / "data", database_url=f"sqlite+aiosqlite:///{tmp_path / 'pomona.db'}"
    )
    async with running(settings) as (app, client, admin):
        await fill(client, admin)
        publisher = FeedPublisher(app.state.feed, DirectoryTarget(root))
        await publisher.publish()
        (root / "jamf/v1/patch/Firefox").write_bytes(b"{}")
        (root / "jamf/v1/patch/Gone").write_bytes(b"{}")

        done = await publisher.publish()

        assert (done.written, done.unchanged, done.removed) == (1, 4, 1)
        assert directory(root) == await served(client.get)


# -- served by nginx, as the operations guide configures it ----------------------------------------

NGINX = """\
worker_processes 1;
user root;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
    server {{
        listen 127.0.0.1:{port};
        location /jamf/ {{
            proxy_pass {pomona};
        }}
        location ~ ^/jamf/v1/(?:[a-z0-9-]+/)?(?:software|patch/[^/]+)$ {{
            root {root};
            default_type application/json;
            add_header Cache-Control no-cache;
            try_files $uri @pomona;
        }}
        location @pomona {{
            proxy_pass {pomona};
        }}
    }}
}}
"""


def start_nginx(folder: Path, root: Path, pomona: str) -> tuple[subprocess.Popen[bytes], str]:
    try:
        binary = need("nginx")
    except Missing:
        unavailable("nginx (apt-get install nginx-light)")
        raise
    port = free_port()
    (folder / "tmp").mkdir(parents=True)
    conf = folder / "nginx.conf"
    conf.write_text(NGINX.format(dir=folder, port=port, root=root, pomona=pomona))
    process = subprocess.Popen(
        [binary, "-p", str(folder), "-c", str(conf), "-e", str(folder / "nginx-error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            return process, url
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((folder / "nginx-error.log").read_text()) from None
            time.sleep(0.1)


async def api_fill(server: Server) -> None:
    made = server.pomona("token", "create", "--name", "admin", "--scope", "admin")
    assert made.returncode == 0, made.stderr
    headers = {"Authorization": f"Bearer {made.stdout.strip()}"}
    async with httpx.AsyncClient(base_url=server.url) as client:
        await fill(client, headers)


@pytest.mark.slow
async def test_nginx_serving_the_tree_answers_as_pomona_does(tmp_path: Path) -> None:
    root = tmp_path / "www"
    with serving(tmp_path, POMONA_STATIC_FEED_DIR=str(root)) as server:
        await api_fill(server)
        nginx, url = start_nginx(tmp_path / "nginx", root, server.url)
        try:
            async with (
                httpx.AsyncClient(base_url=url) as front,
                httpx.AsyncClient(base_url=server.url) as own,
            ):
                expected = await served(own.get)
                for _ in range(150):
                    if directory(root) == expected:
                        break
                    await asyncio.sleep(0.1)
                assert directory(root) == expected, "the feed was not published"
                assert await served(front.get) == expected
                paths = [f"{u}/software" for u in FEEDS.values()]
                paths += ["/jamf/v1/patch/Firefox", "/jamf/v1/acme/patch/Tool_Acme"]
                for path in paths:
                    mine, theirs = await front.get(path), await own.get(path)
                    assert mine.content == theirs.content, path
                    assert mine.headers["content-type"] == theirs.headers["content-type"], path
                    assert mine.headers["cache-control"] == "no-cache", path
                    assert "x-request-id" not in mine.headers, f"{path} was not served from files"
                # What cannot be a file is forwarded to Pomona.
                forwarded = ["/jamf/v1/software/Zoom,Firefox", "/jamf/v1/", "/jamf/v1/acme/"]
                for path in [*forwarded, "/jamf/v1/patch/Nope", "/jamf/v1/software/"]:
                    mine, theirs = await front.get(path), await own.get(path)
                    assert (mine.status_code, mine.content) == (theirs.status_code, theirs.content)
                    assert "x-request-id" in mine.headers, path
        finally:
            os.killpg(nginx.pid, signal.SIGTERM)
            nginx.wait(timeout=15)


# -- pomona feed publish ---------------------------------------------------------------------------


def pomona(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pomona", *args],
        env={**os.environ, "POMONA_DATA_DIR": str(folder / "data"), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_pomona_feed_publish_writes_the_feed_now(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    async with running(settings) as (_, client, admin):
        await fill(client, admin)
        expected = await served(client.get)
    root = tmp_path / "www"

    done = await asyncio.to_thread(
        pomona, tmp_path, "feed", "publish", POMONA_STATIC_FEED_DIR=str(root)
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"published the feed to {root}: 5 files written, 0 unchanged, 0 removed\n"
    assert directory(root) == expected

    again = await asyncio.to_thread(
        pomona, tmp_path, "feed", "publish", POMONA_STATIC_FEED_DIR=str(root)
    )
    assert again.stdout.endswith(": 0 files written, 5 unchanged, 0 removed\n"), again.stderr


def test_pomona_feed_publish_says_what_to_set(tmp_path: Path) -> None:
    unset = pomona(tmp_path, "feed", "publish")
    assert unset.returncode == 2
    assert "set static_feed_dir (a directory) or static_feed_url" in " ".join(unset.stderr.split())

    both = pomona(
        tmp_path,
        "feed",
        "publish",
        POMONA_STATIC_FEED_DIR=str(tmp_path / "www"),
        POMONA_STATIC_FEED_URL="s3://bucket/feed",
    )
    assert both.returncode == 2
    assert "set static_feed_dir or static_feed_url, not both" in " ".join(both.stderr.split())

    wrong = pomona(tmp_path, "feed", "publish", POMONA_STATIC_FEED_URL="https://example.com/feed")
    assert wrong.returncode == 2
    assert "write it as s3://bucket or s3://bucket/prefix" in " ".join(wrong.stderr.split())
    assert not (tmp_path / "data").exists()  # refused before anything was made
