"""The upload routes, in process, on every database engine: a plain PUT and the tus protocol."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pomona.app import create_app
from tests.conftest import make_token
from tests.packages.conftest import TUS, MiB, payload, put, tus_metadata


async def test_put_then_record_and_download(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    data = payload(2 * MiB + 5)
    answer = await put(client, admin, "Firefox 120.pkg", data)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["outcome"] == "created"
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["md5"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert body["sha512"] == hashlib.sha512(data).hexdigest()
    assert body["size"] == len(data)
    assert body["chunkCount"] == 3
    assert body["uploader"] == "token:admin"
    record = (await client.get("/api/v1/packages/Firefox 120.pkg", headers=admin)).json()
    assert record["sha256"] == body["sha256"]
    manifest = (await client.get("/api/v1/packages/Firefox 120.pkg/manifest", headers=admin)).json()
    assert manifest["chunks"] == [
        hashlib.sha256(data[i : i + MiB]).hexdigest() for i in range(0, len(data), MiB)
    ]
    got = await client.get("/Packages/Firefox 120.pkg")
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["etag"] == f'"{body["sha256"]}"'
    assert got.headers["content-length"] == str(len(data))
    api = await client.get("/api/v1/packages/Firefox 120.pkg/download", headers=admin)
    assert api.content == data
    assert (await client.get("/api/v1/packages/Firefox 120.pkg/download")).status_code == 401


async def test_tus_protocol(app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    options = await client.options("/api/v1/uploads/")
    assert options.status_code == 204
    assert options.headers["tus-version"] == "1.0.0"
    assert set(options.headers["tus-extension"].split(",")) >= {
        "creation",
        "termination",
        "checksum",
    }
    assert set(options.headers["tus-checksum-algorithm"].split(",")) == {"sha1", "sha256", "md5"}

    versionless = await client.post("/api/v1/uploads/", headers={**admin, "Upload-Length": "5"})
    assert versionless.status_code == 412
    assert versionless.headers["tus-version"] == "1.0.0"  # tus: say which version to speak
    assert versionless.json()["errors"][0]["code"] == "tus_version_missing"
    nameless = await client.post("/api/v1/uploads/", headers={**TUS, **admin, "Upload-Length": "5"})
    assert nameless.status_code == 422
    assert nameless.json()["errors"][0]["path"] == "/Upload-Metadata/filename"

    data = payload(3 * MiB + 100, seed=20)
    created = await client.post(
        "/api/v1/uploads/",
        headers={
            **TUS,
            **admin,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": tus_metadata(filename="t.pkg"),
        },
    )
    assert created.status_code == 201, created.text
    url = created.headers["location"]
    assert url.startswith("http://pomona.test/api/v1/uploads/")
    patch_headers = {**TUS, **admin, "Content-Type": "application/offset+octet-stream"}

    wrong_type = await client.patch(
        url,
        content=data[:10],
        headers={**patch_headers, "Content-Type": "text/plain", "Upload-Offset": "0"},
    )
    assert wrong_type.status_code == 415
    first = await client.patch(
        url, content=data[:MiB], headers={**patch_headers, "Upload-Offset": "0"}
    )
    assert first.status_code == 204
    assert first.headers["upload-offset"] == str(MiB)
    conflict = await client.patch(
        url, content=data[:10], headers={**patch_headers, "Upload-Offset": "0"}
    )
    assert conflict.status_code == 409

    piece = data[MiB : 2 * MiB]
    wrong = base64.b64encode(hashlib.sha1(b"other", usedforsecurity=False).digest()).decode()
    mismatch = await client.patch(
        url,
        content=piece,
        headers={**patch_headers, "Upload-Offset": str(MiB), "Upload-Checksum": f"sha1 {wrong}"},
    )
    assert mismatch.status_code == 460
    head = await client.head(url, headers={**TUS, **admin})
    assert head.headers["upload-offset"] == str(MiB)  # the corrupt piece was discarded
    assert head.headers["upload-length"] == str(len(data))
    right = base64.b64encode(hashlib.sha256(piece).digest()).decode()
    good = await client.patch(
        url,
        content=piece,
        headers={**patch_headers, "Upload-Offset": str(MiB), "Upload-Checksum": f"sha256 {right}"},
    )
    assert good.status_code == 204
    assert good.headers["upload-offset"] == str(2 * MiB)
    unknown = await client.patch(
        url,
        content=b"x",
        headers={**patch_headers, "Upload-Offset": str(2 * MiB), "Upload-Checksum": "crc32 AAAA"},
    )
    assert unknown.status_code == 400

    assert (await client.get("/Packages/t.pkg")).status_code == 404  # not visible before the end
    # Another process (a second app on the same database and data directory) takes the upload
    # up: everything it needs is in the database and the partial file, none in the first's memory.
    second = create_app(app.state.settings)
    async with (
        second.router.lifespan_context(second),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=second), base_url="http://pomona.test"
        ) as elsewhere,
    ):
        resumed = await elsewhere.head(url, headers={**TUS, **admin})
        assert resumed.headers["upload-offset"] == str(2 * MiB)
        last = await elsewhere.patch(
            url, content=data[2 * MiB :], headers={**patch_headers, "Upload-Offset": str(2 * MiB)}
        )
    assert last.status_code == 204
    assert last.headers["upload-offset"] == str(len(data))
    record = (await client.get("/api/v1/packages/t.pkg", headers=admin)).json()
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    assert record["md5"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert record["sha512"] == hashlib.sha512(data).hexdigest()
    manifest = (await client.get("/api/v1/packages/t.pkg/manifest", headers=admin)).json()
    assert manifest["chunks"] == [
        hashlib.sha256(data[i : i + MiB]).hexdigest() for i in range(0, len(data), MiB)
    ]
    assert (await client.head(url, headers={**TUS, **admin})).status_code == 404
    assert list(app.state.services.packages.uploads.directory.iterdir()) == []

    # Termination.
    other = await client.post(
        "/api/v1/uploads",
        headers={
            **TUS,
            **admin,
            "Upload-Length": "10",
            "Upload-Metadata": tus_metadata(filename="x.zip"),
        },
    )
    assert other.status_code == 201
    assert (
        await client.delete(other.headers["location"], headers={**TUS, **admin})
    ).status_code == 204
    assert (
        await client.head(other.headers["location"], headers={**TUS, **admin})
    ).status_code == 404


async def _create(
    client: httpx.AsyncClient, headers: dict[str, str], length: int, **metadata: str
) -> httpx.Response:
    return await client.post(
        "/api/v1/uploads/",
        headers={
            **TUS,
            **headers,
            "Upload-Length": str(length),
            "Upload-Metadata": tus_metadata(**metadata),
        },
    )


async def _chunked(data: bytes) -> AsyncIterator[bytes]:
    """A body sent without Content-Length, so only what arrives tells its size."""
    for start in range(0, len(data), 1000):
        yield data[start : start + 1000]


async def test_a_refused_patch_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    data = payload(10_000, seed=31)
    url = (await _create(client, admin, len(data), filename="r.pkg")).headers["location"]
    patch_headers = {**TUS, **admin, "Content-Type": "application/offset+octet-stream"}
    first = await client.patch(
        url, content=data[:4000], headers={**patch_headers, "Upload-Offset": "0"}
    )
    assert first.status_code == 204
    # 6,000 bytes remain: a body of 9,000 is refused, the first 6,000 of it included.
    over = await client.patch(
        url,
        content=_chunked(payload(9000, seed=32)),
        headers={**patch_headers, "Upload-Offset": "4000"},
    )
    assert over.status_code == 413, over.text
    head = await client.head(url, headers={**TUS, **admin})
    assert head.headers["upload-offset"] == "4000"
    upload_id = url.rsplit("/", 1)[1]
    assert app.state.services.packages.uploads.partial_path(upload_id).stat().st_size == 4000
    # The hashes were not advanced either: the upload completes with the right content.
    last = await client.patch(
        url, content=_chunked(data[4000:]), headers={**patch_headers, "Upload-Offset": "4000"}
    )
    assert last.status_code == 204, last.text
    assert last.headers["pomona-package-sha256"] == hashlib.sha256(data).hexdigest()


async def test_an_upload_belongs_to_its_creator(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    alice = await make_token(app, "alice", "packages:write")
    bob = await make_token(app, "bob", "packages:write")
    data = payload(3000, seed=33)
    url = (await _create(client, alice, len(data), filename="mine.pkg")).headers["location"]
    patch = {"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}
    tried = [
        await client.head(url, headers={**TUS, **bob}),
        await client.patch(url, content=data, headers={**TUS, **bob, **patch}),
        await client.delete(url, headers={**TUS, **bob}),
    ]
    for answer in tried:
        assert answer.status_code == 404
    # A 404 for HEAD has no body; the others say only that no such upload exists.
    for answer in tried[1:]:
        assert answer.json()["errors"][0]["code"] == "upload_not_found"
    upload_id = url.rsplit("/", 1)[1]
    assert app.state.services.packages.uploads.partial_path(upload_id).exists()
    # An admin sees every upload; the creator carries on as if nothing happened.
    assert (await client.head(url, headers={**TUS, **admin})).headers["upload-offset"] == "0"
    done = await client.patch(url, content=data, headers={**TUS, **alice, **patch})
    assert done.status_code == 204, done.text
    record = (await client.get("/api/v1/packages/mine.pkg", headers=admin)).json()
    assert record["uploader"] == "token:alice"
    other = (await _create(client, bob, 10, filename="b.pkg")).headers["location"]
    assert (await client.delete(other, headers={**TUS, **admin})).status_code == 204


async def test_a_taken_name_is_refused_at_creation(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    data = payload(2000, seed=34)
    assert (await put(client, admin, "taken.pkg", data)).status_code == 201
    taken = await _create(client, admin, 5000, filename="taken.pkg")
    assert taken.status_code == 409, taken.text
    assert taken.json()["errors"][0]["code"] == "package_exists"
    wrong = await _create(client, admin, 2000, filename="taken.pkg", sha256="0" * 64)
    assert wrong.status_code == 409
    assert list(app.state.services.packages.uploads.directory.iterdir()) == []
    same = await _create(
        client, admin, len(data), filename="taken.pkg", sha256=hashlib.sha256(data).hexdigest()
    )
    assert same.status_code == 201, same.text
    replacing = await _create(client, admin, 10, filename="taken.pkg", replace="true")
    assert replacing.status_code == 201, replacing.text


async def test_package_names_are_checked_alike_everywhere(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    put_answer = await put(client, admin, "a%E2%88%95b.pkg", b"x")  # U+2215 DIVISION SLASH
    tus_answer = await _create(client, admin, 1, filename="a\u2215b.pkg")
    for answer, location in ((put_answer, "path"), (tus_answer, "header")):
        assert answer.status_code == 422, answer.text
        (problem,) = answer.json()["errors"]
        assert problem["code"] == "filename_invalid"
        assert problem["location"] == location
        assert "character 2 (U+2215 DIVISION SLASH) looks like a slash" in problem["message"]
    # Two different undecodable names would both be stored as 'bad\ufffd.pkg'.
    undecodable = await put(client, admin, "bad%FF.pkg", b"x")
    assert undecodable.json()["errors"][0]["code"] == "filename_invalid"
    assert "U+FFFD" in undecodable.json()["errors"][0]["message"]
    # Stored NFC, found whichever way the name is typed.
    decomposed = "Cafe\u0301.pkg"
    assert (await put(client, admin, decomposed, b"1")).json()["filename"] == "Caf\u00e9.pkg"
    assert (await client.get("/api/v1/packages/Caf\u00e9.pkg", headers=admin)).status_code == 200
    assert (await client.get(f"/api/v1/packages/{decomposed}", headers=admin)).status_code == 200
    assert (await client.get(f"/Packages/{decomposed}")).content == b"1"


# -- byte counts in headers ------------------------------------------------------------------------

# What a header can carry as ASGI hands it over (latin-1, no line break or NUL), and near misses:
# digits int() would read that tus does not allow ("1_0", "²"), and far too many digits.
HEADER_TEXT = st.one_of(
    st.text(st.characters(max_codepoint=255, exclude_characters="\r\n\x00")),
    st.from_regex(r"\A[ +-]?[0-9_\xb2\xb3\xb9]{0,25}\Z"),
    st.integers(4000, 6000).map(lambda n: "9" * n),
)


async def new_upload(client: httpx.AsyncClient, admin: dict[str, str]) -> str:
    created = await client.post(
        "/api/v1/uploads/",
        headers={
            **TUS,
            **admin,
            "Upload-Length": "10",
            "Upload-Metadata": tus_metadata(filename="b.pkg"),
        },
    )
    assert created.status_code == 201, created.text
    return created.headers["location"]


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Upload-Length", "9" * 5000),  # past Python's int conversion limit
        ("Upload-Length", "9" * 20),  # past a signed 64-bit count
        ("Upload-Length", "1_0"),
        ("Upload-Offset", "9" * 5000),
        ("Upload-Offset", "-1"),
        ("Upload-Offset", "0x1"),
        ("Upload-Offset", "\xb2"),
        ("Content-Length", "9" * 5000),
    ],
)
async def test_a_byte_count_header_that_is_not_a_count_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str], header: str, value: str
) -> None:
    sent = {header: value.encode("latin-1")}
    if header == "Upload-Length":
        answer = await client.post(
            "/api/v1/uploads/",
            headers={**TUS, **admin, **sent, "Upload-Metadata": tus_metadata(filename="b.pkg")},
        )
    else:
        answer = await client.patch(
            await new_upload(client, admin),
            content=b"ab",
            headers={
                **TUS,
                **admin,
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
                **sent,
            },
        )
    assert answer.status_code == 400, answer.text
    [problem] = answer.json()["errors"]
    code = header.lower().replace("-", "_") + "_invalid"
    assert (problem["path"], problem["location"], problem["code"]) == (f"/{header}", "header", code)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(offset=HEADER_TEXT, length=HEADER_TEXT)
async def test_no_upload_offset_or_length_is_a_server_error(
    client: httpx.AsyncClient, admin: dict[str, str], offset: str, length: str
) -> None:
    created = await client.post(
        "/api/v1/uploads/",
        headers={
            **TUS,
            **admin,
            "Upload-Length": length.encode("latin-1"),
            "Upload-Metadata": tus_metadata(filename="fuzz.pkg"),
        },
    )
    assert created.status_code < 500, created.text
    patched = await client.patch(
        await new_upload(client, admin),
        content=b"ab",
        headers={
            **TUS,
            **admin,
            "Upload-Offset": offset.encode("latin-1"),
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert patched.status_code < 500, patched.text
