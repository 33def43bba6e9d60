"""What each kind of endpoint receives for an event.

* ``signed``: the Standard Webhooks payload ``{type, timestamp, data}``, signed.
* ``slack``: an incoming-webhook message, ``{text, blocks}``, ``text`` being the notification.
* ``teams``: a Workflows message holding an Adaptive Card.
* ``patchserver``: PatchServer's own body, for scripts written against it: ``new_title`` and
  ``title_deleted`` only, with its ``"version:"`` key as PatchServer spelt it.

The chat kinds get one readable line per event (:func:`headline`), written from the payload.
"""

from __future__ import annotations

from typing import Any

import orjson

from pomona.events.catalog import catalog
from pomona.events.service import EventView
from pomona.times import format_time

KINDS = ("signed", "slack", "teams", "patchserver")
# The types a PatchServer-style endpoint takes, and the name PatchServer gave each.
PATCHSERVER_EVENTS = {"title.created": "new_title", "title.deleted": "title_deleted"}


def headline(event: EventView) -> str:
    """One line a person reads in a chat: what happened, to what."""
    data, domain = event.data, event.type.split(".", 1)[0]
    what = event.type.split(".", 1)[1].replace("_", " ")
    if domain == "title":
        line = f"Title {data.get('name')} ({data.get('id')}): {data.get('summary')}"
        if data.get("namespace") not in (None, "default"):
            line += f" [namespace {data['namespace']}]"
        return line + f", revision {data.get('revision')}"
    if domain == "package":
        line = f"Package {data.get('filename')} {what} ({data.get('size')} bytes)"
        return line + (f": {data['reason']}" if data.get("reason") else "")
    if domain == "job":
        return f"Job {data.get('kind')} ({data.get('id')}) failed: {data.get('message')}"
    if domain == "webhook":
        what = what.removeprefix("endpoint ")
        line = f"Webhook endpoint {data.get('id')} ({data.get('host')}) {what}"
        return line + (f": {data['reason']}" if data.get("reason") else "")
    known = catalog().get(event.type)
    return f"{known.summary if known else event.type} {event.subject or ''}".strip()


def _facts(event: EventView) -> list[tuple[str, str]]:
    return [("Event", event.type), ("By", event.actor), ("At", format_time(event.at))]


def standard(event: EventView) -> dict[str, Any]:
    return {"type": event.type, "timestamp": format_time(event.at), "data": event.data}


def slack(event: EventView) -> dict[str, Any]:
    text = headline(event)
    context = " · ".join(f"{name}: {value}" for name, value in _facts(event))
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(text)}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _slack_escape(context)}]},
        ],
    }


def _slack_escape(text: str) -> str:
    # Slack reads <, > and & as markup; a title named "<!channel>" must not ping anyone.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def teams(event: EventView) -> dict[str, Any]:
    card = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": headline(event), "wrap": True, "weight": "Bolder"},
            {
                "type": "FactSet",
                "facts": [{"title": name, "value": value} for name, value in _facts(event)],
            },
        ],
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def patchserver(event: EventView, definition: dict[str, Any] | None) -> dict[str, Any]:
    data = event.data
    body: dict[str, Any] = {
        "event": PATCHSERVER_EVENTS.get(event.type, event.type),
        "timestamp": format_time(event.at),
        "software_title": data.get("id"),
        "version:": data.get("currentVersion"),
        "url": f"/jamf/v1/patch/{data.get('id')}",
    }
    if definition is not None:
        body["patch_definition"] = definition
    return body


def render(kind: str, event: EventView, definition: dict[str, Any] | None = None) -> bytes:
    """The body an endpoint of ``kind`` gets for ``event``."""
    if kind == "slack":
        document = slack(event)
    elif kind == "teams":
        document = teams(event)
    elif kind == "patchserver":
        document = patchserver(event, definition)
    else:
        document = standard(event)
    return orjson.dumps(document)
