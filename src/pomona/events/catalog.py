"""The catalogue: every event type of every domain, gathered explicitly.

Each domain lists its types in ``<domain>/events.py`` as a module-level tuple ``TYPES``. To add a
domain's types, import its ``events`` module here and add its ``TYPES`` to :data:`DOMAINS`: the
catalogue, the API (``/api/v1/events/types``), the docs' table (``docs/webhooks.md``) and
the webhook filters' check all follow.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pomona.errors import NotFound
from pomona.events import events as webhook_events
from pomona.events.types import EventType
from pomona.inbound import events as inbound_events
from pomona.jamf import events as jamf_events
from pomona.notifications import events as notification_events
from pomona.packages import events as package_events
from pomona.queue import events as queue_events
from pomona.replication import events as replication_events
from pomona.subscriptions import events as subscription_events
from pomona.titles import events as title_events

# One entry per domain, in the order the docs list them.
DOMAINS: tuple[tuple[EventType[Any], ...], ...] = (
    title_events.TYPES,
    package_events.TYPES,
    queue_events.TYPES,
    replication_events.TYPES,
    subscription_events.TYPES,
    webhook_events.TYPES,
    notification_events.TYPES,
    inbound_events.TYPES,
    jamf_events.TYPES,
)


@cache
def catalog() -> dict[str, EventType[Any]]:
    """Every event type by name; a name declared twice is a programming error."""
    found: dict[str, EventType[Any]] = {}
    for types in DOMAINS:
        for event_type in types:
            if event_type.name in found:
                raise ValueError(f"event type {event_type.name} is declared twice")
            found[event_type.name] = event_type
    return found


def event_type(name: str) -> EventType[Any]:
    found = catalog().get(name)
    if found is None:
        raise NotFound(
            f"no event type '{name}'; the catalogue lists them all", code="event_type_not_found"
        )
    return found


def _field_type(schema: dict[str, Any]) -> str:
    if "anyOf" in schema:
        return " or ".join(_field_type(s) for s in schema["anyOf"])
    kind = schema.get("type", "object")
    return "null" if kind == "null" else str(kind)


def markdown() -> str:
    """The catalogue as the docs show it (``docs/webhooks.md``, checked by a test): the types,
    then each payload's fields."""
    lines = ["| Type | When | Payload (`data`) |", "|---|---|---|"]
    payloads: dict[str, dict[str, Any]] = {}
    for found in catalog().values():
        schema = found.schema()
        title = schema.get("title", found.payload.__name__)
        payloads.setdefault(title, schema)
        lines.append(f"| `{found.name}` | {found.summary} | [{title}](#{title.lower()}) |")
    for title, schema in payloads.items():
        lines += ["", f"#### {title}", "", schema.get("description", ""), ""]
        lines += ["| Field | Type | Description |", "|---|---|---|"]
        # Every field is sent, null when it has no value.
        for name, field in schema["properties"].items():
            described = field.get("description", "")
            lines.append(f"| `{name}` | {_field_type(field)} | {described} |")
    return "\n".join(lines) + "\n"


__all__ = ["DOMAINS", "catalog", "event_type", "markdown"]
