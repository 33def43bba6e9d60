"""HTTP routes that receive packages: one streamed ``PUT``, and tus 1.0 resumable uploads
(core, creation, termination, checksum, expiration) under ``/api/v1/uploads/``. Thin."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Mapping
from email.utils import format_datetime
from typing import Annotated, Any, ClassVar

from fastapi import Depends, Header, Path, Query, Request, Response
from starlette.requests import ClientDisconnect

from pomona.audit.deps import who
from pomona.budget_http import PACKAGE, accepts, api_router, declared_length
from pomona.deps import SettingsDep
from pomona.errors import BadRequest, Invalid, PreconditionFailed, Problem, UnsupportedMedia
from pomona.errors_http import WithHeaders
from pomona.http import BYTES_PATTERN, byte_count
from pomona.packages.deps import Uploads, Writer
from pomona.packages.routes.catalog import Filename
from pomona.packages.routes.schemas import PublishedOut, responses
from pomona.packages.uploads import CHECKSUMS
from pomona.packages.values import UploadState

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,checksum,expiration"


async def request_body(request: Request) -> AsyncIterator[bytes]:
    """The request's body as it arrives; a client gone before its end is a bad request."""
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect:
        raise BadRequest(
            "the client disconnected before the body was complete", code="client_disconnected"
        ) from None


def bytes_header(description: str) -> Any:
    """A byte-count header as the OpenAPI document shows it; ``byte_count`` reads it."""
    return Header(description=description, json_schema_extra={"pattern": BYTES_PATTERN})


# -- plain PUT -----------------------------------------------------------------------------------

put_api = api_router(prefix="/api/v1/packages", tags=["packages"])


@put_api.put(
    "/{filename}",
    response_model=PublishedOut,
    status_code=201,
    responses={
        200: {"model": PublishedOut, "description": "Replaced, or the same content was there"},
        202: {"model": PublishedOut, "description": "Received and verified; being stored (S3)"},
        **responses(400, 401, 403, 409, 413, 422),
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
@accepts(PACKAGE)
async def put_package(
    request: Request,
    response: Response,
    uploads: Uploads,
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
) -> PublishedOut:
    """Upload a package in one streamed request; visible once complete and verified."""
    result = await uploads.receive(
        filename,
        request_body(request),
        length=declared_length(request),
        who=who(request, caller),
        replace=replace,
        sha256=sha256,
    )
    response.status_code = {"created": 201, "pending": 202}.get(result.outcome, 200)
    response.headers["ETag"] = f'"{result.package.sha256}"'
    return PublishedOut.published(result)


# -- tus 1.0 -------------------------------------------------------------------------------------


class TusVersionMissing(WithHeaders, PreconditionFailed):
    """A tus request without the protocol version this server speaks; the answer names it."""

    headers: ClassVar[Mapping[str, str]] = {
        "Tus-Version": TUS_VERSION,
        "Tus-Resumable": TUS_VERSION,
    }


async def tus_version(
    # Optional to FastAPI, so that its absence is tus's 412 rather than a validation error;
    # required in the document, as the protocol makes it.
    tus_resumable: Annotated[
        str,
        Header(
            description=f"The tus version: {TUS_VERSION}",
            json_schema_extra={"enum": [TUS_VERSION], "x-required": True},
        ),
    ] = "",
) -> None:
    if tus_resumable != TUS_VERSION:
        raise TusVersionMissing(
            f"send Tus-Resumable: {TUS_VERSION}",
            "/Tus-Resumable",
            "header",
            code="tus_version_missing",
        )


Tus = [Depends(tus_version)]
UploadId = Annotated[str, Path(pattern="^[0-9a-f]{32}$", description="The upload's id")]

tus = api_router(prefix="/api/v1/uploads", tags=["uploads (tus 1.0)"])


def parse_metadata(header: str) -> dict[str, str]:
    """``Upload-Metadata: key base64,key2 base64,flag``."""
    values: dict[str, str] = {}
    for index, pair in enumerate(p.strip() for p in header.split(",") if p.strip()):
        key, _, encoded = pair.partition(" ")
        try:
            values[key] = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise Invalid(
                [Problem(f"/Upload-Metadata/{index}", "a value is not base64 of UTF-8", "header")],
                code="upload_metadata_malformed",
            ) from None
    return values


_CHECKSUM_PATTERN = "^(sha1 [A-Za-z0-9+/]{27}=|sha256 [A-Za-z0-9+/]{43}=|md5 [A-Za-z0-9+/]{22}==)$"


def parse_checksum(header: str) -> tuple[str, bytes]:
    """``Upload-Checksum: <algorithm> <base64 digest>``."""
    algorithm, _, encoded = header.strip().partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in CHECKSUMS:
        raise BadRequest(
            f"unsupported checksum algorithm '{algorithm}'; use {', '.join(CHECKSUMS)}",
            "/Upload-Checksum",
            "header",
            code="checksum_algorithm_unsupported",
        )
    try:
        return algorithm, base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(
            "the Upload-Checksum digest is not valid base64",
            "/Upload-Checksum",
            "header",
            code="checksum_malformed",
        ) from None


def state_headers(state: UploadState) -> dict[str, str]:
    headers = {
        "Tus-Resumable": TUS_VERSION,
        "Upload-Offset": str(state.offset),
        "Upload-Expires": format_datetime(state.expires_at, usegmt=True),
        "Cache-Control": "no-store",
    }
    if state.published is not None:
        headers["Pomona-Package-Sha256"] = state.published.package.sha256
    return headers


@tus.options("/", status_code=204, responses={204: {"description": "What the server speaks"}})
async def tus_options(settings: SettingsDep) -> Response:
    """tus discovery: version, extensions, checksum algorithms and the size limit."""
    headers = {
        "Tus-Resumable": TUS_VERSION,
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": TUS_EXTENSIONS,
        "Tus-Max-Size": str(settings.package_max_bytes),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUMS),
    }
    return Response(status_code=204, headers=headers)


@tus.post(
    "/",
    status_code=201,
    dependencies=Tus,
    response_class=Response,
    responses=responses(
        400, 401, 403, 409, 412, 413, 422, ok={201: {"description": "Created; Location is its URL"}}
    ),
)
async def tus_create(
    request: Request,
    uploads: Uploads,
    caller: Writer,
    upload_length: Annotated[str, bytes_header("Total size in bytes")],
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
            [Problem("/Upload-Metadata/filename", "name the package: filename <base64>", "header")],
            code="upload_filename_missing",
        )
    replace = replace or metadata.get("replace", "").lower() in ("1", "true", "yes")
    length = byte_count(upload_length, "Upload-Length")
    state = await uploads.create_upload(
        filename,
        length,
        metadata=upload_metadata,
        who=who(request, caller),
        replace=replace,
        sha256=metadata.get("sha256"),
    )
    headers = state_headers(state)
    headers["Location"] = str(request.url_for("tus_upload", upload_id=state.upload_id))
    return Response(status_code=201, headers=headers)


# The same, for clients configured without the trailing slash.
tus.add_api_route(
    "", tus_create, methods=["POST"], status_code=201, include_in_schema=False, dependencies=Tus
)
tus.add_api_route("", tus_options, methods=["OPTIONS"], status_code=204, include_in_schema=False)


@tus.head(
    "/{upload_id}",
    name="tus_upload",
    dependencies=Tus,
    response_class=Response,
    responses=responses(
        401, 403, 404, 412, 422, ok={200: {"description": "Upload-Offset tells where to resume"}}
    ),
)
async def tus_head(uploads: Uploads, upload_id: UploadId, caller: Writer) -> Response:
    """How much of the upload the server has."""
    state = await uploads.upload_state(upload_id, caller=caller)
    headers = state_headers(state)
    headers["Upload-Length"] = str(state.length)
    if state.metadata:
        headers["Upload-Metadata"] = state.metadata
    return Response(status_code=200, headers=headers)


@tus.patch(
    "/{upload_id}",
    dependencies=Tus,
    response_class=Response,
    status_code=204,
    responses=responses(
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
@accepts(PACKAGE)
async def tus_patch(
    request: Request,
    uploads: Uploads,
    upload_id: UploadId,
    caller: Writer,
    upload_offset: Annotated[str, bytes_header("Where this piece starts")],
    content_type: Annotated[str, Header()] = "",
    upload_checksum: Annotated[
        str | None,
        Header(
            description="`<sha1|sha256|md5> <base64 digest>` of this piece",
            # Each algorithm's digest in base64: 20, 32 and 16 bytes.
            json_schema_extra={"pattern": _CHECKSUM_PATTERN},
        ),
    ] = None,
) -> Response:
    """Append bytes at Upload-Offset; the package is published when the last byte arrives."""
    if content_type.split(";")[0].strip().lower() != "application/offset+octet-stream":
        raise UnsupportedMedia(
            "send Content-Type: application/offset+octet-stream",
            "/Content-Type",
            "header",
            code="upload_content_type",
        )
    offset = byte_count(upload_offset, "Upload-Offset")
    checksum = parse_checksum(upload_checksum) if upload_checksum else None
    state = await uploads.append(
        upload_id,
        offset,
        request_body(request),
        who=who(request, caller),
        caller=caller,
        checksum=checksum,
        length=declared_length(request),
    )
    return Response(status_code=204, headers=state_headers(state))


@tus.delete(
    "/{upload_id}",
    dependencies=Tus,
    status_code=204,
    response_class=Response,
    responses=responses(401, 403, 404, 412, 422),
)
async def tus_delete(
    request: Request, uploads: Uploads, upload_id: UploadId, caller: Writer
) -> Response:
    """Abandon an upload and free its space (tus termination extension)."""
    await uploads.terminate(upload_id, who(request, caller), caller)
    return Response(status_code=204, headers={"Tus-Resumable": TUS_VERSION})
