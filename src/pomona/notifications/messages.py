"""The mails of notifications: one event, or a digest of several, in plain text and HTML,
rendered from the Jinja2 templates beside this module (HTML escaped, text as is)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import orjson
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from pomona.accounts.mail import Mail
from pomona.events.models import Event
from pomona.times import format_time

_DETAILS_MAX = 4000


@functools.cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("pomona.notifications", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


@dataclass(frozen=True, slots=True)
class Shown:
    """An event as a mail shows it."""

    id: str
    type: str
    at: str
    actor: str
    subject: str | None
    namespace: str | None
    details: str

    @classmethod
    def of(cls, event: Event) -> Shown:
        try:
            details = orjson.dumps(orjson.loads(event.payload), option=orjson.OPT_INDENT_2).decode()
        except orjson.JSONDecodeError:
            details = event.payload
        if len(details) > _DETAILS_MAX:
            details = details[:_DETAILS_MAX] + "\n..."
        return cls(
            event.event_id,
            event.type,
            format_time(event.at),
            event.actor,
            event.subject,
            event.namespace,
            details,
        )


def _links(public_url: str | None) -> dict[str, str]:
    server = (public_url or "").rstrip("/") or "(public_url is not set)"
    return {"server": server, "manage": f"{server}/api/v1/users/me/notifications"}


def one_event(public_url: str | None, to: str, event: Event, reason: str) -> Mail:
    shown = Shown.of(event)
    values = {"event": shown, "reason": reason, **_links(public_url)}
    subject = f"[Pomona] {shown.type}" + (f": {shown.subject}" if shown.subject else "")
    return Mail(
        to,
        subject[:200],
        _templates().get_template("event.txt.j2").render(values),
        _templates().get_template("event.html.j2").render(values),
    )


def digest(public_url: str | None, to: str, events: list[Event], period: str) -> Mail:
    shown = [Shown.of(e) for e in events]
    values = {"events": shown, "period": period, **_links(public_url)}
    subject = f"[Pomona] {len(shown)} event{'s' if len(shown) != 1 else ''} ({period} digest)"
    return Mail(
        to,
        subject,
        _templates().get_template("digest.txt.j2").render(values),
        _templates().get_template("digest.html.j2").render(values),
    )
