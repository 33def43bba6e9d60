"""HTTP routes of the package store: records, plain and tus uploads, downloads. Thin."""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from email.utils import format_datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import FileResponse

from pomona.audit.deps import who
from pomona.auth.deps import require
from pomona.auth.scopes import Principal
from pomona.db import Database
from pomona.deps import services
from pomona.errors import BadRequest, Invalid, Problem, UnsupportedMedia
from pomona.errors_http import ErrorsOut, error_responses
from pomona.http import read_json
from pomona.packages.downloads import serve
from pomona.packages.service import (
    CHECKSUMS,
    PackageInfo,
    PackageService,
    Published,
    UploadState,
    build_storage,
    parse_checksum,
)
from pomona.settings import Settings

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,checksum,expiration"
DOWNLOAD_PIECE = 1024 * 1024  # bytes read per step when a local file is sent


def create_service(
    db: Database, settings: Settings, enqueue: Callable[[str], object] | None = None
) -> PackageService:
    """The service the lifespan keeps in ``app.state.packages``; ``enqueue`` queues the task
    that stores a verified upload in remote storage."""
    return PackageService(db, build_storage(settings), settings, enqueue=enqueue)


Responses = dict[int | str, dict[str, object]]


def _responses(*statuses: int, ok: Responses | None = None) -> Responses:
    extra = {
        410: "The upload's partial data is gone",
        416: "No requested range lies inside the file",
        460: "Upload-Checksum does not match the bytes received",
    }
    known = [s for s in statuses if s not in extra]
    responses = dict(ok or {})
    responses.update(error_responses(*known))
    for status in statuses:
        if status in extra:
            responses[status] = {"model": ErrorsOut, "description": extra[status]}
    return responses


# -- response models ----------------------------------------------------------------------------


class PackageOut(BaseModel):
    filename: str
    size: int
    sha256: str = Field(description="Identity of the content; also the download ETag")
    md5: str
    sha512: str
    chunkSize: int
    chunkCount: int
    notes: str | None
    tags: list[str] = Field(description="Stage tags such as dev, test, prod")
    uploader: str
    createdAt: datetime
    uploadedAt: datetime
    updatedAt: datetime
    verifiedAt: datetime | None = Field(
        None, description="When the scrub last read the stored bytes back and found them right"
    )
    quarantined: str | None = Field(
        None,
        description="Why the package is not served (its stored bytes changed); null when healthy",
    )


class PublishedOut(PackageOut):
    outcome: str = Field(
        description="created, replaced, unchanged (same content as stored), or pending (being "
        "stored in S3; the package appears when done)"
    )


class PackageListOut(BaseModel):
    items: list[PackageOut]
    total: int
    page: int
    perPage: int


class ManifestOut(BaseModel):
    filename: str
    sha256: str
    size: int
    chunkSize: int
    chunks: list[str] = Field(description="SHA-256 of each chunk, in order")


class PackagePatch(BaseModel):
    """Fields a PATCH may set; absent fields stay as they are."""

    notes: str | None = None
    tags: list[str] | None = None


def _out(info: PackageInfo) -> PackageOut:
    return PackageOut(
        filename=info.filename,
        size=info.size,
        sha256=info.sha256,
        md5=info.md5,
        sha512=info.sha512,
        chunkSize=info.chunk_size,
        chunkCount=info.chunk_count,
        notes=info.notes,
        tags=info.tags,
        uploader=info.uploader,
        createdAt=info.created_at,
        uploadedAt=info.uploaded_at,
        updatedAt=info.updated_at,
        verifiedAt=info.verified_at,
        quarantined=info.quarantined,
    )


def _published(result: Published) -> PublishedOut:
    return PublishedOut(**_out(result.package).model_dump(), outcome=result.outcome)


def _service(request: Request) -> PackageService:
    return services(request).packages


async def _body(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect:
        raise BadRequest("the client disconnected before the body was complete") from None


Reader = Annotated[Principal, Depends(require("packages:read"))]
Writer = Annotated[Principal, Depends(require("packages:write"))]
Filename = Annotated[str, Path(description="The package's filename", min_length=1, max_length=255)]

api = APIRouter(prefix="/api/v1/packages", tags=["packages"])


@api.get("", response_model=PackageListOut, responses=_responses(401, 403, 422))
async def list_packages(
    request: Request,
    _caller: Reader,
    q: Annotated[
        str | None, Query(description="Search filenames and notes", max_length=255)
    ] = None,
    tag: Annotated[
        str | None, Query(description="Only packages with this tag", max_length=64)
    ] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(alias="perPage", ge=1, le=10_000)] = 50,
) -> PackageListOut:
    """List packages, ordered by filename."""
    per_page = min(per_page, services(request).settings.page_size_max)
    found = await _service(request).search(
        query=q, tag=tag, offset=(page - 1) * per_page, limit=per_page
    )
    return PackageListOut(
        items=[_out(i) for i in found.items], total=found.total, page=page, perPage=per_page
    )


@api.put(
    "/{filename}",
    response_model=PublishedOut,
    status_code=201,
    responses={
        200: {"model": PublishedOut, "description": "Replaced, or the same content was there"},
        202: {"model": PublishedOut, "description": "Received and verified; being stored (S3)"},
        **_responses(400, 401, 403, 409, 413, 422),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The package's bytes (`curl -T file URL`)",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def put_package(
    request: Request,
    response: Response,
    filename: Filename,
    caller: Writer,
    replace: Annotated[
        bool, Query(description="Replace a package of this name that has other content")
    ] = False,
    sha256: Annotated[
        str | None,
        Query(
            description="Expected SHA-256; the upload is refused if it differs",
            pattern="^[0-9a-fA-F]{64}$",
        ),
    ] = None,
    content_length: Annotated[int | None, Header(ge=0)] = None,
) -> PublishedOut:
    """Upload a package in one streamed request; visible once complete and verified."""
    result = await _service(request).receive(
        filename,
        _body(request),
        length=content_length,
        who=who(request, caller),
        replace=replace,
        sha256=sha256,
    )
    response.status_code = {"created": 201, "pending": 202}.get(result.outcome, 200)
    response.headers["ETag"] = f'"{result.package.sha256}"'
    return _published(result)


@api.get("/{filename}", response_model=PackageOut, responses=_responses(401, 403, 404, 422))
async def get_package(request: Request, filename: Filename, _caller: Reader) -> PackageOut:
    """A package's record: size, hashes, chunks, tags, notes."""
    return _out(await _service(request).get(filename))


@api.get(
    "/{filename}/manifest", response_model=ManifestOut, responses=_responses(401, 403, 404, 422)
)
async def get_manifest(request: Request, filename: Filename, _caller: Reader) -> ManifestOut:
    """The SHA-256 of every chunk, to fetch and verify a package piece by piece."""
    info, chunks = await _service(request).manifest(filename)
    return ManifestOut(
        filename=info.filename,
        sha256=info.sha256,
        size=info.size,
        chunkSize=info.chunk_size,
        chunks=chunks,
    )


@api.patch(
    "/{filename}",
    response_model=PackageOut,
    responses=_responses(400, 401, 403, 404, 413, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/PackagePatch"}}
            },
        }
    },
)
async def patch_package(request: Request, filename: Filename, caller: Writer) -> PackageOut:
    """Set notes and/or the stage tags (the list replaces the current tags)."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise Invalid([Problem("", "send a JSON object with notes and/or tags")])
    unknown = sorted(set(body) - {"notes", "tags"})
    if unknown:
        raise Invalid([Problem(f"/{k}", "unknown field; use notes and tags") for k in unknown])
    changes: dict[str, Any] = {k: body[k] for k in ("notes", "tags") if k in body}
    return _out(await _service(request).update(filename, who=who(request, caller), **changes))


@api.delete("/{filename}", status_code=204, responses=_responses(401, 403, 404, 422))
async def delete_package(request: Request, filename: Filename, caller: Writer) -> Response:
    """Remove a package; its content is kept in the history until the retention passes."""
    await _service(request).delete(filename, who=who(request, caller))
    return Response(status_code=204)


_DOWNLOAD: Responses = {
    200: {"description": "The file", "content": {"application/octet-stream": {}}},
    206: {"description": "The requested range(s)"},
    304: {"description": "Not modified (If-None-Match)"},
    307: {"description": "Redirect to the storage (S3 with s3_download = redirect)"},
}


async def _download(request: Request, filename: str) -> Response:
    service = _service(request)
    found = await service.locate(filename)
    settings: Settings = services(request).settings
    response = serve(
        request,
        service.storage,
        found,
        redirect=settings.s3_download == "redirect",
        presign_seconds=settings.s3_presign_seconds,
    )
    if isinstance(response, FileResponse):
        # Starlette reads 64 KiB per trip to the thread pool; under uvicorn (no zero-copy) that
        # trip is the cost: 1 MiB pieces measured 0.2 -> 0.7-1.3 x nginx's sendfile throughput
        # (docs/performance.md), for at most a piece or two of memory per connection.
        response.chunk_size = DOWNLOAD_PIECE
    return response


async def download_package(request: Request, filename: Filename, _caller: Reader) -> Response:
    """Download a package (Range, If-Range, If-None-Match; the ETag is the SHA-256)."""
    return await _download(request, filename)


for _method in ("GET", "HEAD"):
    api.add_api_route(
        "/{filename}/download",
        download_package,
        methods=[_method],
        operation_id=f"download_package_{_method.lower()}",
        response_class=Response,
        responses=_responses(401, 403, 404, 409, 416, 422, ok=_DOWNLOAD),
    )


# -- /Packages: what Jamf Pro clients fetch -------------------------------------------------------


async def download_guard(request: Request) -> None:
    """What ``package_download_auth`` asks of ``/Packages`` requests."""
    settings: Settings = services(request).settings
    if settings.package_download_auth == "token":
        await require("packages:read")(request)
    elif settings.package_download_auth == "basic":
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            user = password = ""
        expected = settings.package_download_password.get_secret_value()
        good = (
            scheme.lower() == "basic"
            and bool(expected)
            and secrets.compare_digest(user.encode(), settings.package_download_username.encode())
            and secrets.compare_digest(password.encode(), expected.encode())
        )
        if not good:
            raise StarletteHTTPException(
                401,
                "send the distribution point's username and password (HTTP basic auth)",
                headers={"WWW-Authenticate": 'Basic realm="Pomona packages"'},
            )


public = APIRouter(tags=["distribution point"])


async def distribution_point(request: Request, filename: Filename) -> Response:
    """Jamf Pro's HTTP distribution point path: the DP URL plus ``/Packages/<filename>``."""
    return await _download(request, filename)


for _method in ("GET", "HEAD"):
    public.add_api_route(
        "/Packages/{filename}",
        distribution_point,
        methods=[_method],
        operation_id=f"distribution_point_{_method.lower()}",
        response_class=Response,
        dependencies=[Depends(download_guard)],
        responses=_responses(401, 403, 404, 409, 416, 422, ok=_DOWNLOAD),
    )


# -- tus 1.0 resumable uploads -------------------------------------------------------------------

uploads = APIRouter(prefix="/api/v1/uploads", tags=["uploads (tus 1.0)"])


def _tus_headers(request: Request) -> dict[str, str]:
    settings: Settings = services(request).settings
    return {
        "Tus-Resumable": TUS_VERSION,
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": TUS_EXTENSIONS,
        "Tus-Max-Size": str(settings.package_max_bytes),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUMS),
    }


async def tus_version(
    tus_resumable: Annotated[str | None, Header(description="Must be 1.0.0")] = None,
) -> None:
    if tus_resumable != TUS_VERSION:
        raise StarletteHTTPException(
            412,
            f"send Tus-Resumable: {TUS_VERSION}",
            headers={"Tus-Version": TUS_VERSION, "Tus-Resumable": TUS_VERSION},
        )


Tus = [Depends(tus_version)]


def parse_metadata(header: str) -> dict[str, str]:
    """``Upload-Metadata: key base64,key2 base64,flag``."""
    values: dict[str, str] = {}
    for index, pair in enumerate(p.strip() for p in header.split(",") if p.strip()):
        key, _, encoded = pair.partition(" ")
        try:
            values[key] = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise Invalid(
                [Problem(f"/Upload-Metadata/{index}", "a value is not base64 of UTF-8", "header")]
            ) from None
    return values


def _state_headers(state: UploadState) -> dict[str, str]:
    headers = {
        "Tus-Resumable": TUS_VERSION,
        "Upload-Offset": str(state.offset),
        "Upload-Expires": format_datetime(state.expires_at, usegmt=True),
        "Cache-Control": "no-store",
    }
    if state.published is not None:
        headers["Pomona-Package-Sha256"] = state.published.package.sha256
    return headers


@uploads.options("/", status_code=204, responses={204: {"description": "What the server speaks"}})
async def tus_options(request: Request) -> Response:
    """tus discovery: version, extensions, checksum algorithms and the size limit."""
    return Response(status_code=204, headers=_tus_headers(request))


@uploads.post(
    "/",
    status_code=201,
    dependencies=Tus,
    response_class=Response,
    responses=_responses(
        400, 401, 403, 409, 412, 413, 422, ok={201: {"description": "Created; Location is its URL"}}
    ),
)
async def tus_create(
    request: Request,
    caller: Writer,
    upload_length: Annotated[int, Header(ge=0, description="Total size in bytes")],
    upload_metadata: Annotated[
        str, Header(description="Must carry `filename`; `replace` (true) is optional")
    ] = "",
    replace: Annotated[bool, Query(description="Replace a package with other content")] = False,
) -> Response:
    """Create an upload (tus creation extension)."""
    metadata = parse_metadata(upload_metadata)
    filename = metadata.get("filename")
    if not filename:
        raise Invalid(
            [Problem("/Upload-Metadata/filename", "name the package: filename <base64>", "header")]
        )
    replace = replace or metadata.get("replace", "").lower() in ("1", "true", "yes")
    state = await _service(request).create_upload(
        filename,
        upload_length,
        metadata=upload_metadata,
        who=who(request, caller),
        replace=replace,
    )
    headers = _state_headers(state)
    headers["Location"] = str(request.url_for("tus_upload", upload_id=state.upload_id))
    return Response(status_code=201, headers=headers)


# The same, for clients configured without the trailing slash.
uploads.add_api_route(
    "", tus_create, methods=["POST"], status_code=201, include_in_schema=False, dependencies=Tus
)
uploads.add_api_route(
    "", tus_options, methods=["OPTIONS"], status_code=204, include_in_schema=False
)

UploadId = Annotated[str, Path(pattern="^[0-9a-f]{32}$", description="The upload's id")]


@uploads.head(
    "/{upload_id}",
    name="tus_upload",
    dependencies=Tus,
    response_class=Response,
    responses=_responses(
        401, 403, 404, 412, 422, ok={200: {"description": "Upload-Offset tells where to resume"}}
    ),
)
async def tus_head(request: Request, upload_id: UploadId, _caller: Writer) -> Response:
    """How much of the upload the server has."""
    state = await _service(request).upload_state(upload_id)
    headers = _state_headers(state)
    headers["Upload-Length"] = str(state.length)
    if state.metadata:
        headers["Upload-Metadata"] = state.metadata
    return Response(status_code=200, headers=headers)


@uploads.patch(
    "/{upload_id}",
    dependencies=Tus,
    response_class=Response,
    status_code=204,
    responses=_responses(
        400,
        401,
        403,
        404,
        409,
        410,
        412,
        413,
        415,
        422,
        460,
        ok={204: {"description": "Appended; Upload-Offset is the new offset"}},
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/offset+octet-stream": {
                    "schema": {"type": "string", "format": "binary"}
                }
            },
        }
    },
)
async def tus_patch(
    request: Request,
    upload_id: UploadId,
    caller: Writer,
    upload_offset: Annotated[int, Header(ge=0)],
    content_type: Annotated[str, Header()] = "",
    content_length: Annotated[int | None, Header(ge=0)] = None,
    upload_checksum: Annotated[
        str | None, Header(description="`<sha1|sha256|md5> <base64 digest>` of this piece")
    ] = None,
) -> Response:
    """Append bytes at Upload-Offset; the package is published when the last byte arrives."""
    if content_type.split(";")[0].strip().lower() != "application/offset+octet-stream":
        raise UnsupportedMedia("send Content-Type: application/offset+octet-stream")
    checksum = parse_checksum(upload_checksum) if upload_checksum else None
    state = await _service(request).append(
        upload_id,
        upload_offset,
        _body(request),
        who=who(request, caller),
        checksum=checksum,
        length=content_length,
    )
    return Response(status_code=204, headers=_state_headers(state))


@uploads.delete(
    "/{upload_id}",
    dependencies=Tus,
    status_code=204,
    response_class=Response,
    responses=_responses(401, 403, 404, 412, 422),
)
async def tus_delete(request: Request, upload_id: UploadId, caller: Writer) -> Response:
    """Abandon an upload and free its space (tus termination extension)."""
    await _service(request).terminate(upload_id, who(request, caller))
    return Response(status_code=204, headers={"Tus-Resumable": TUS_VERSION})


def install(app: FastAPI) -> None:
    """Add the package store's routes to ``app``."""
    app.include_router(api)
    app.include_router(uploads)
    app.include_router(public)
