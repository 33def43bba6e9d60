"""Reading a Jamf Pro webhook: the envelope from JSON or ``<JSSEvent>`` XML, and the typed
payloads of the events Pomona acts on.

Jamf Pro sends ``{"webhook": {id, name, webhookEvent, eventTimestamp}, "event": {...}}`` or the
same parts as XML. Any event name is accepted (new Jamf releases add some); only the envelope
must be readable. The typed payloads tolerate missing and malformed keys: what cannot be read
is left out and said in the delivery's outcome, never a refusal of the webhook.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import orjson
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from pydantic import BaseModel, ValidationError

from pomona.errors import BadRequest, Problem
from pomona.inbound.events import PatchPolicyCompleted, PatchTitleUpdated

_NAME_MAX = 64


@dataclass(frozen=True, slots=True)
class Envelope:
    """One webhook, read: Jamf's event name and identifiers, and the event's own fields."""

    webhook_event: str
    webhook_id: int | None
    webhook_name: str | None
    timestamp: datetime | None
    event: dict[str, Any]
    content_type: str  # json or xml
    text: str  # the body as stored


def _bad(problems: list[Problem]) -> BadRequest:
    return BadRequest(problems, code="webhook_unreadable")


def parse(body: bytes, content_type: str | None) -> Envelope:
    """The envelope of ``body``; :class:`BadRequest` listing every problem found when it cannot
    be read. JSON or XML is told by ``Content-Type``, else by the first character."""
    stripped = body.lstrip()
    if not stripped:
        raise _bad([Problem("", "the body is empty; send the webhook's JSON or XML")])
    kind = (content_type or "").lower()
    is_xml = "xml" in kind if ("xml" in kind or "json" in kind) else stripped[:1] == b"<"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad([Problem("", f"the body is not UTF-8 (byte {exc.start})")]) from None
    found = _from_xml(body) if is_xml else _from_json(body)
    return _envelope(found, "xml" if is_xml else "json", text)


def _from_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _bad([Problem("", f"the body is not valid JSON: {exc}")]) from None


def _from_xml(body: bytes) -> Any:
    try:
        root = fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise _bad([Problem("", f"the body is not valid XML: {exc}")]) from None
    if root.tag != "JSSEvent":
        raise _bad([Problem("", f"the XML's root is <{root.tag}>, not <JSSEvent>")])
    return _element(root)


def _element(element: Element) -> Any:
    """An element as JSON would have it: text for a leaf; a dict for children, repeated names
    as lists, and ``<reportUrls><reportUrl>..`` (children all named as the parent without its
    final ``s``) as a list."""
    children = list(element)
    if not children:
        return (element.text or "").strip()
    if element.tag.endswith("s") and all(c.tag == element.tag[:-1] for c in children):
        return [_element(c) for c in children]
    found: dict[str, Any] = {}
    for child in children:
        value = _element(child)
        if child.tag in found:
            earlier = found[child.tag]
            found[child.tag] = [*earlier, value] if isinstance(earlier, list) else [earlier, value]
        else:
            found[child.tag] = value
    return found


def _envelope(found: Any, content_type: str, text: str) -> Envelope:
    problems: list[Problem] = []
    if not isinstance(found, dict):
        raise _bad([Problem("", "the webhook must be an object with 'webhook' and 'event'")])
    webhook = found.get("webhook")
    event = found.get("event", {})
    if not isinstance(webhook, dict):
        problems.append(Problem("/webhook", "missing: Jamf Pro sends the webhook's id and event"))
        webhook = {}
    name = webhook.get("webhookEvent")
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem("/webhook/webhookEvent", "missing: the name of the Jamf event"))
    elif len(name) > _NAME_MAX or not name.isascii() or not name.strip().isidentifier():
        problems.append(Problem("/webhook/webhookEvent", f"{name[:80]!r} is not a Jamf event name"))
    if event == "":  # an empty <event/> in XML
        event = {}
    if not isinstance(event, dict):
        problems.append(Problem("/event", "must be an object holding the event's fields"))
    if problems:
        raise _bad(problems)
    assert isinstance(name, str)
    assert isinstance(event, dict)
    return Envelope(
        webhook_event=name.strip(),
        webhook_id=_integer(webhook.get("id")),
        webhook_name=str(webhook["name"])[:255] if webhook.get("name") is not None else None,
        timestamp=_epoch_ms(webhook.get("eventTimestamp")),
        event=event,
        content_type=content_type,
        text=text,
    )


def _integer(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if -(2**31) <= number < 2**31 else None


def _epoch_ms(value: Any) -> datetime | None:
    """Jamf's times are milliseconds since 1970; 0 (its documentation's template) is none."""
    number = _integer(value) if not isinstance(value, int) else value
    if not number or number <= 0 or number > 32_503_680_000_000:  # after the year 3000
        return None
    return datetime.fromtimestamp(number / 1000, UTC)


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


# -- typed payloads ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Typed:
    """A typed payload, and what of the event could not be read into it."""

    payload: BaseModel
    problems: list[str]


def typed(envelope: Envelope, source: str, delivery: int) -> Typed | None:
    """The typed payload of the events Pomona reads; None for the others."""
    event = envelope.event
    if envelope.webhook_event == "PatchSoftwareTitleUpdated":
        urls = event.get("reportUrls", event.get("reportUrl"))
        fields = {
            "jssID": event.get("jssID"),
            "name": event.get("name"),
            "latestVersion": event.get("latestVersion"),
            "lastUpdate": iso(_epoch_ms(event.get("lastUpdate"))),
            "reportUrls": _strings(urls),
        }
        return _lenient(PatchTitleUpdated, {"source": source, "delivery": delivery}, fields)
    if envelope.webhook_event == "ComputerPatchPolicyCompleted":
        actions = event.get("eventActions")
        if isinstance(actions, dict):
            actions = actions.get("action")
        fields = {
            key: event.get(key)
            for key in (
                "patchPolicyId",
                "patchPolicyName",
                "softwareTitleId",
                "deployedVersion",
                "successful",
                "computer",
            )
        }
        fields["eventActions"] = _strings(actions)
        return _lenient(PatchPolicyCompleted, {"source": source, "delivery": delivery}, fields)
    return None


def _strings(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else [value]
    return [str(item) for item in items if isinstance(item, str | int | float) and item != ""]


def _lenient(model: type[BaseModel], fixed: dict[str, Any], fields: dict[str, Any]) -> Typed:
    """``model`` from ``fields``, leaving out (and naming) each one that does not fit."""
    present = {k: v for k, v in fields.items() if v is not None and v != ""}
    problems: list[str] = []
    for _ in range(len(present) + 1):
        try:
            return Typed(model.model_validate(fixed | present), problems)
        except ValidationError as exc:
            wrong = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
            wrong &= set(present)
            if not wrong:
                raise
            for key in sorted(wrong):
                problems.append(f"/event/{key}: {str(present.pop(key))[:80]!r} was not readable")
    raise AssertionError("unreachable: every field was dropped")


__all__ = ["Envelope", "Typed", "iso", "parse", "typed"]
