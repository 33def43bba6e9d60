"""``pomona webhooks``: add, list, remove webhook endpoints, rotate their secrets, read their
delivery log and replay a delivery; ``pomona events tail``: follow the event stream."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import typer

from pomona.cli.client import JsonOption, api, confirm, done, err, fail, out, print_json, table

app = typer.Typer(
    help="Webhook endpoints: add, list, remove, rotate secrets, deliveries, replay (admin).",
    no_args_is_help=True,
)
events_app = typer.Typer(help="The event log: follow it live.", no_args_is_help=True)

BASE = "/api/v1/webhooks/endpoints"
EndpointArg = Annotated[str, typer.Argument(help="The endpoint's id (ep_...) or number")]


def _path(endpoint: str, *rest: str) -> str:
    return "/".join([BASE, quote(endpoint, safe=""), *rest])


def _secret(made: dict[str, Any]) -> None:
    if made["kind"] in ("signed", "patchserver"):
        out.print(made["secret"])
        err.print(
            "That is the signing secret, shown this once: give it to the receiver, which "
            "verifies each request with it (see docs/webhooks.md)."
        )


@app.command("list")
def list_endpoints(as_json: JsonOption = False) -> None:
    """Every endpoint, its kind, filters and state."""
    with api() as client:
        items = client.json("GET", BASE)["items"]
    if as_json:
        print_json(items)
        return
    table(
        "id",
        "kind",
        "url",
        "events",
        "namespace",
        "state",
        rows=[
            [
                i["id"],
                i["kind"],
                i["url"],
                ",".join(i["eventTypes"]),
                i["namespace"] or "",
                "enabled" if i["enabled"] else f"disabled: {i['disabledReason'] or 'by hand'}",
            ]
            for i in items
        ],
    )


@app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="Where to send events (http or https)")],
    kind: Annotated[
        str, typer.Option(help="signed (Standard Webhooks), slack, teams or patchserver")
    ] = "signed",
    event: Annotated[
        list[str] | None,
        typer.Option("--event", "-e", help="An event type or pattern (title.*); repeat. Default *"),
    ] = None,
    namespace: Annotated[str | None, typer.Option(help="Only this namespace's events")] = None,
    description: Annotated[str, typer.Option(help="What it is for")] = "",
    disabled: Annotated[bool, typer.Option("--disabled", help="Add it disabled")] = False,
    as_json: JsonOption = False,
) -> None:
    """Add an endpoint; prints its signing secret, shown this once."""
    body = {
        "url": url,
        "kind": kind,
        "eventTypes": event or ["*"],
        "namespace": namespace,
        "description": description,
        "enabled": not disabled,
    }
    with api() as client:
        made = client.json("POST", BASE, json=body)
    if as_json:
        print_json(made)
        return
    done(f"added endpoint {made['id']} ({made['kind']}) for {', '.join(made['eventTypes'])}")
    _secret(made)


@app.command("remove")
def remove(
    endpoint: EndpointArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask")] = False,
) -> None:
    """Remove an endpoint and its delivery log."""
    confirm(f"Remove webhook endpoint {endpoint}?", yes)
    with api() as client:
        client.call("DELETE", _path(endpoint))
    done(f"removed endpoint {endpoint}")


@app.command("rotate")
def rotate(endpoint: EndpointArg, as_json: JsonOption = False) -> None:
    """A new signing secret; the old one keeps signing beside it for a while."""
    with api() as client:
        made = client.json("POST", _path(endpoint, "rotate"))
    if as_json:
        print_json(made)
        return
    done(f"rotated; the old secret still signs until {made['previousSecretUntil']}")
    _secret(made)


@app.command("deliveries")
def deliveries(
    endpoint: EndpointArg,
    state: Annotated[str | None, typer.Option(help="pending, delivered or failed")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 50,
    as_json: JsonOption = False,
) -> None:
    """The endpoint's deliveries, newest first, with their last attempt."""
    params: dict[str, Any] = {"perPage": limit}
    if state:
        params["state"] = state
    with api() as client:
        items = client.json("GET", _path(endpoint, "deliveries"), params=params)["items"]
    if as_json:
        print_json(items)
        return
    rows = []
    for d in items:
        last = d["attempts"][-1] if d["attempts"] else {}
        outcome = last.get("error") or (str(last["status"]) if last.get("status") else "")
        rows.append([str(d["id"]), d["eventType"], d["state"], str(len(d["attempts"])), outcome])
    table("id", "event", "state", "attempts", "last outcome", rows=rows)


@app.command("replay")
def replay(
    endpoint: EndpointArg,
    delivery: Annotated[int, typer.Argument(help="The delivery's id (pomona webhooks deliveries)")],
) -> None:
    """Send a delivery again now, from the start of the retry schedule."""
    with api() as client:
        client.call("POST", _path(endpoint, "deliveries", str(delivery), "replay"), ok=(202,))
    done(
        f"delivery {delivery} queued again; follow it with `pomona webhooks deliveries {endpoint}`"
    )


@events_app.command("tail")
def tail(
    event_type: Annotated[
        list[str] | None,
        typer.Option("--type", "-t", help="An event type or pattern (title.*); repeat"),
    ] = None,
    after: Annotated[
        int | None, typer.Option(help="Start after this event (its seq) rather than now")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Print events as they happen, until interrupted (Ctrl-C); reconnects where it stopped."""
    params = {"type": ",".join(event_type)} if event_type else {}
    last = after
    with api() as client:
        while True:
            headers = {"Accept": "text/event-stream"}
            if last is not None:
                headers["Last-Event-ID"] = str(last)
            try:
                with (
                    client.reachable(),
                    client.http.stream(
                        "GET", "/api/v1/events/stream", params=params, headers=headers, timeout=None
                    ) as stream,
                ):
                    if stream.status_code != 200:
                        stream.read()
                        client.call("GET", "/api/v1/events/stream", params=params)
                        fail(f"the stream answered {stream.status_code}")
                    for line in stream.iter_lines():
                        if line.startswith("id: "):
                            last = int(line[4:])
                        elif line.startswith("data: "):
                            _print_event(json.loads(line[6:]), as_json)
            except KeyboardInterrupt:
                return
            except httpx.ReadError:
                pass  # the server restarted: reconnect after the last event seen


def _print_event(event: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(event, ensure_ascii=False), flush=True)
        return
    data = event["data"]
    what = data.get("summary") or data.get("message") or data.get("reason") or ""
    out.print(f"{event['timestamp']}  {event['type']:<26} {event['subject'] or ''}  {what}")
