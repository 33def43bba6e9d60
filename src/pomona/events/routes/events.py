"""HTTP routes of the event log: list it, follow it live (Server-Sent Events), and read the
catalogue of event types with their JSON Schemas. Parse, call, answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Header, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from pomona.audit.routes import Moment
from pomona.auth.scopes import Principal
from pomona.budget_http import api_router
from pomona.characters import is_number
from pomona.deps import SettingsDep
from pomona.errors import Forbidden, Invalid, Problem
from pomona.errors_http import error_responses
from pomona.events.catalog import catalog, event_type
from pomona.events.deps import EventReader, Events, Stopping
from pomona.events.service import EventFilter, EventView, ReadLimit
from pomona.events.stream_http import stream
from pomona.times import format_time


class EventOut(BaseModel):
    seq: int = Field(description="The event's place in the log: the cursor and the stream's id")
    id: str = Field(description="The event's id (`webhook-id` of its deliveries)")
    type: str
    timestamp: str
    actor: str
    subject: str | None
    namespace: str | None
    data: dict[str, Any] = Field(description="The payload, as the type's schema describes it")


class EventListOut(BaseModel):
    items: list[EventOut]
    next: int | None = Field(description="The `after` of the next page; None on the last page")
    perPage: int


class EventTypeOut(BaseModel):
    name: str
    domain: str
    summary: str
    schema_: dict[str, Any] = Field(alias="schema", description="JSON Schema of `data`")


class EventTypeListOut(BaseModel):
    items: list[EventTypeOut]


def event_out(event: EventView) -> EventOut:
    return EventOut(
        seq=event.pk,
        id=event.id,
        type=event.type,
        timestamp=format_time(event.at),
        actor=event.actor,
        subject=event.subject,
        namespace=event.namespace,
        data=event.data,
    )


def _aware(moment: datetime | None) -> datetime | None:
    # A time without a zone is read as UTC, as everywhere.
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


TypeQuery = Annotated[
    str | None,
    Query(
        alias="type",
        description="Types or patterns, comma-separated: `title.*,package.published`",
        max_length=1000,
    ),
]
SubjectQuery = Annotated[
    str | None, Query(description="e.g. `title:Firefox`, or `title:*` for a prefix", max_length=255)
]
NamespaceQuery = Annotated[
    str | None, Query(description="Title events of one namespace", max_length=64)
]


def _filter(
    caller: Principal,
    types: str | None,
    subject: str | None,
    namespace: str | None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> EventFilter:
    """The filter asked for, within what the caller may read (a namespace outside its own is
    refused rather than answered empty, so that a script learns why it sees nothing)."""
    if namespace and caller.namespaces is not None and namespace not in caller.namespaces:
        may = ", ".join(sorted(caller.namespaces)) or "no namespace"
        raise Forbidden(
            f"this token may read the events of namespace '{namespace}' only if it is one of its "
            f"own; it may read: {may}",
            "/namespace",
            "query",
            code="namespace_forbidden",
        )
    names = [t.strip() for t in (types or "").split(",") if t.strip()]
    return EventFilter(
        names,
        subject,
        namespace,
        _aware(since),
        _aware(until),
        ReadLimit(caller.namespaces, caller.titles),
    )


api = api_router(prefix="/api/v1/events", tags=["events"])


@api.get("", response_model=EventListOut, responses=error_responses(401, 403, 422))
async def list_events(
    events: Events,
    settings: SettingsDep,
    caller: EventReader,
    types: TypeQuery = None,
    subject: SubjectQuery = None,
    namespace: NamespaceQuery = None,
    since: Annotated[Moment | None, Query(description="ISO-8601, inclusive")] = None,
    until: Annotated[Moment | None, Query(description="ISO-8601, inclusive")] = None,
    after: Annotated[
        int, Query(ge=0, le=2**53, description="Events after this `seq` (the cursor)")
    ] = 0,
    per_page: Annotated[int, Query(alias="perPage", ge=1, le=10_000)] = 50,
) -> EventListOut:
    """The event log, oldest first from ``after``: follow ``next`` until it is null. Needs
    ``events:read``; a caller limited to namespaces or titles reads only those titles' events."""
    per_page = min(per_page, settings.page_size_max)
    found = await events.page(
        _filter(caller, types, subject, namespace, since, until), after=after, limit=per_page
    )
    return EventListOut(
        items=[event_out(e) for e in found.items], next=found.next_cursor, perPage=per_page
    )


@api.get(
    "/stream",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"},
        **error_responses(401, 403, 422),
    },
)
async def stream_events(
    request: Request,
    events: Events,
    settings: SettingsDep,
    stopping: Stopping,
    caller: EventReader,
    types: TypeQuery = None,
    subject: SubjectQuery = None,
    namespace: NamespaceQuery = None,
    last_event_id: Annotated[
        int | None,
        Query(
            alias="lastEventId",
            ge=0,
            le=2**53,
            description="Resume after this event (`seq`); the `Last-Event-ID` header wins",
        ),
    ] = None,
    last_event_header: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
) -> StreamingResponse:
    """Events as they commit, as Server-Sent Events (`id` is the event's `seq`). Without
    ``Last-Event-ID`` the stream starts now; with it, at the event after. A client that does
    not accept ``text/event-stream`` (as browsers' ``EventSource`` does) gets the events there
    are, and the answer ends. Needs ``events:read``; a caller limited to namespaces or titles
    reads only those titles' events."""
    wanted = _filter(caller, types, subject, namespace)
    wanted.check()
    after = last_event_id
    if last_event_header is not None:
        if not is_number(last_event_header.strip()):
            raise Invalid(
                [Problem("/Last-Event-ID", "give the `id` of the last event received", "header")],
                code="last_event_id_invalid",
            )
        after = int(last_event_header.strip())
    body = stream(
        events,
        wanted,
        after,
        disconnected=request.is_disconnected,
        stopping=stopping,
        poll=settings.events_stream_poll_seconds,
        heartbeat=settings.events_stream_heartbeat_seconds,
        follow="text/event-stream" in request.headers.get("accept", ""),
    )
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)


@api.get("/types", response_model=EventTypeListOut, responses=error_responses(401, 403))
async def list_event_types(_caller: EventReader) -> EventTypeListOut:
    """Every event type, with the JSON Schema of its ``data``. Needs ``events:read``."""
    return EventTypeListOut(items=[_type_out(name) for name in catalog()])


@api.get(
    "/types/{name}", response_model=EventTypeOut, responses=error_responses(401, 403, 404, 422)
)
async def get_event_type(
    _caller: EventReader, name: Annotated[str, Path(max_length=64)]
) -> EventTypeOut:
    """One event type and its schema. Needs ``events:read``."""
    return _type_out(event_type(name).name)


def _type_out(name: str) -> EventTypeOut:
    found = catalog()[name]
    return EventTypeOut(
        name=found.name, domain=found.domain, summary=found.summary, schema=found.schema()
    )
