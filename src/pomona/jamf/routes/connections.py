"""HTTP routes of Jamf Pro connections: create, list, read, edit, delete; and the jobs run
against one (check, connect, disconnect, remove a package). Parse, call, answer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path, Request, Response
from pydantic import BaseModel, Field, model_validator

from pomona.audit.deps import who
from pomona.audit.service import Who
from pomona.auth.scopes import Principal
from pomona.budget_http import api_router
from pomona.container import Services
from pomona.deps import ServicesDep
from pomona.errors_http import error_responses
from pomona.jamf.deps import Admin, Jamf
from pomona.jamf.service import CHECK, CONNECT, DISCONNECT, REMOVE, JamfService
from pomona.jamf.values import ConnectionEdit, ConnectionInfo
from pomona.queue.models import Job
from pomona.queue.routes import ACCEPTED, JobOut, accepted, enqueue
from pomona.times import format_time

NameParam = Annotated[str, Path(description="The connection's name", max_length=64)]
Secret = Annotated[str, Field(min_length=1, max_length=1024)]


class ConnectionOut(BaseModel):
    name: str
    url: str
    auth: Literal["client", "user"] = Field(
        description="client: an API client (OAuth client credentials); user: user and password"
    )
    clientId: str | None
    username: str | None
    hashType: Literal["SHA_512", "MD5"]
    createdAt: str
    updatedAt: str


class ConnectionListOut(BaseModel):
    items: list[ConnectionOut]


class ConnectionIn(BaseModel):
    """An API client (clientId and clientSecret) or a user (username and password)."""

    name: str = Field(max_length=64, description="Lower-case letters, digits, '-' and '_'")
    url: str = Field(max_length=1024, description="e.g. https://example.jamfcloud.com")
    clientId: str | None = Field(None, min_length=1, max_length=255)
    clientSecret: Secret | None = None
    username: str | None = Field(None, min_length=1, max_length=255)
    password: Secret | None = None
    hashType: Literal["SHA_512", "MD5"] = Field(
        "SHA_512", description="The checksum Pomona writes on package records"
    )

    @model_validator(mode="after")
    def _one_login(self) -> ConnectionIn:
        client = self.clientId is not None and self.clientSecret is not None
        user = self.username is not None and self.password is not None
        if client == user or (client and (self.username or self.password)):
            raise ValueError("give clientId and clientSecret, or username and password")
        return self


class ConnectionEditIn(BaseModel):
    url: str | None = Field(None, max_length=1024)
    clientId: str | None = Field(None, min_length=1, max_length=255)
    clientSecret: Secret | None = None
    username: str | None = Field(None, min_length=1, max_length=255)
    password: Secret | None = None
    hashType: Literal["SHA_512", "MD5"] | None = None

    @model_validator(mode="after")
    def _one_login(self) -> ConnectionEditIn:
        if (self.clientId or self.clientSecret) and (self.username or self.password):
            raise ValueError("give an API client or a user, not both")
        return self


class ConnectIn(BaseModel):
    name: str = Field("Pomona", min_length=1, max_length=100, description="Name in Jamf Pro")
    distributionPoint: bool = Field(False, description="Also add an HTTP distribution point")
    webhookUrl: str | None = Field(
        None, max_length=1024, description="Also send Jamf Pro's webhooks to this URL"
    )
    webhookEvents: list[Annotated[str, Field(pattern=r"^[A-Za-z]{1,64}$")]] = Field(
        ["PatchSoftwareTitleUpdated"], max_length=40
    )
    dryRun: bool = Field(False, description="Only answer the plan")


class DisconnectIn(BaseModel):
    name: str = Field("Pomona", min_length=1, max_length=100)
    dryRun: bool = False


class RemovalIn(BaseModel):
    filename: str = Field(min_length=1, max_length=255)
    record: bool = Field(False, description="Delete the package record too, not only the file")
    force: bool = Field(False, description="Even when a policy or patch title uses it")
    dryRun: bool = Field(False, description="Only say what would be deleted")


async def add_connection(jamf: JamfService, body: ConnectionIn, by: Who) -> ConnectionInfo:
    """The connection ``body`` describes, with an API client's login or a user's."""
    client = body.clientId is not None
    return await jamf.connections.create(
        body.name,
        body.url,
        "client" if client else "user",
        (body.clientId if client else body.username) or "",
        (body.clientSecret if client else body.password) or "",
        body.hashType,
        who=by,
    )


def connection_out(info: ConnectionInfo) -> ConnectionOut:
    return ConnectionOut(
        name=info.name,
        url=info.url,
        auth=info.auth,
        clientId=info.principal if info.auth == "client" else None,
        username=info.principal if info.auth == "user" else None,
        hashType=info.hash_type,
        createdAt=format_time(info.created_at),
        updatedAt=format_time(info.updated_at),
    )


api = api_router(prefix="/api/v1/jamf/connections", tags=["jamf"])


@api.get("", response_model=ConnectionListOut, responses=error_responses(401, 403))
async def list_connections(jamf: Jamf, _caller: Admin) -> ConnectionListOut:
    """Every Jamf Pro connection (never their secrets). Needs ``admin``."""
    return ConnectionListOut(items=[connection_out(i) for i in await jamf.connections.list()])


@api.post(
    "", status_code=201, response_model=ConnectionOut, responses=error_responses(401, 403, 409, 422)
)
async def create_connection(
    request: Request, jamf: Jamf, caller: Admin, body: ConnectionIn
) -> ConnectionOut:
    """Add a Jamf Pro server; its secret is stored encrypted. `check` it next."""
    return connection_out(await add_connection(jamf, body, who(request, caller)))


@api.get("/{name}", response_model=ConnectionOut, responses=error_responses(401, 403, 404, 422))
async def get_connection(jamf: Jamf, _caller: Admin, name: NameParam) -> ConnectionOut:
    return connection_out(await jamf.connections.get(name))


@api.patch("/{name}", response_model=ConnectionOut, responses=error_responses(401, 403, 404, 422))
async def edit_connection(
    request: Request, jamf: Jamf, caller: Admin, name: NameParam, body: ConnectionEditIn
) -> ConnectionOut:
    """Change the URL, the credentials or the hash type; a new secret replaces the old."""
    auth: Literal["client", "user"] | None = None
    if body.clientId or body.clientSecret:
        auth = "client"
    elif body.username or body.password:
        auth = "user"
    edit = ConnectionEdit(
        url=body.url,
        auth=auth,
        principal=body.clientId or body.username,
        secret=body.clientSecret or body.password,
        hash_type=body.hashType,
    )
    return connection_out(await jamf.connections.update(name, edit, who=who(request, caller)))


@api.delete("/{name}", status_code=204, responses=error_responses(401, 403, 404, 409, 422))
async def delete_connection(
    request: Request, jamf: Jamf, caller: Admin, name: NameParam
) -> Response:
    """Forget a connection and its rules; refused while a push to it runs."""
    await jamf.connections.delete(name, who=who(request, caller))
    return Response(status_code=204)


async def _job(
    request: Request,
    response: Response,
    found: ServicesDep,
    caller: Admin,
    kind: str,
    params: dict[str, Any],
) -> JobOut:
    return accepted(await start_job(found, caller, who(request, caller), kind, params), response)


async def start_job(
    found: Services, caller: Principal, by: Who, kind: str, params: dict[str, Any]
) -> Job:
    """Queue a job of ``kind`` against ``params["connection"]``, which must exist."""
    await found.jamf.connections.get(params["connection"])  # 404 now rather than in the job
    job = await found.jobs.create(kind, caller, by, params)
    await enqueue(found.jobs, job, found.tasks.jamf)
    return job


JOB_ANSWERS = {**ACCEPTED, **error_responses(401, 403, 404, 422, 503)}


@api.post("/{name}/check", status_code=202, response_model=JobOut, responses=JOB_ANSWERS)
async def check_connection(
    request: Request, response: Response, found: ServicesDep, caller: Admin, name: NameParam
) -> JobOut:
    """A job: sign in, read the Jamf Pro version and which privileges each feature lacks."""
    return await _job(request, response, found, caller, CHECK, {"connection": name})


@api.post("/{name}/connect", status_code=202, response_model=JobOut, responses=JOB_ANSWERS)
async def connect(
    request: Request,
    response: Response,
    found: ServicesDep,
    caller: Admin,
    name: NameParam,
    body: ConnectIn,
) -> JobOut:
    """A job: register Pomona (at the ``public_url`` setting) in Jamf Pro as an External Patch
    Source and, if asked, an HTTP distribution point and a webhook target. Its result is the
    plan, applied unless ``dryRun``; running it again changes nothing that is right."""
    params = {"connection": name, **body.model_dump()}
    return await _job(request, response, found, caller, CONNECT, params)


@api.post("/{name}/disconnect", status_code=202, response_model=JobOut, responses=JOB_ANSWERS)
async def disconnect(
    request: Request,
    response: Response,
    found: ServicesDep,
    caller: Admin,
    name: NameParam,
    body: DisconnectIn,
) -> JobOut:
    """A job: remove what ``connect`` added under that name."""
    params = {"connection": name, **body.model_dump()}
    return await _job(request, response, found, caller, DISCONNECT, params)


@api.post("/{name}/removals", status_code=202, response_model=JobOut, responses=JOB_ANSWERS)
async def remove_package(
    request: Request,
    response: Response,
    found: ServicesDep,
    caller: Admin,
    name: NameParam,
    body: RemovalIn,
) -> JobOut:
    """A job: delete a package's file from Jamf Cloud (and its record with ``record``); the job
    fails (409, ``jamf_package_in_use``) while a policy or patch title uses it, unless
    ``force``."""
    params = {"connection": name, **body.model_dump()}
    return await _job(request, response, found, caller, REMOVE, params)
