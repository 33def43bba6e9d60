"""``pomona peers``: pair this server with other Pomona sites, see and steer replication
(needs an admin token)."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from pomona.cli.client import Api, JsonOption, api, confirm, done, err, fail, out, print_json, table
from pomona.cli.titles import wait_for_job

app = typer.Typer(help="Pair with other Pomona sites and follow replication.", no_args_is_help=True)

PeerArg = Annotated[str, typer.Argument(help="The peer's name or id (`pomona peers list`)")]


def _peer_id(client: Api, wanted: str) -> str:
    peers = client.json("GET", "/api/v1/peers")["items"]
    found = [p for p in peers if wanted in (p["peerId"], p["name"])]
    if len(found) != 1:
        names = ", ".join(p["name"] for p in peers) or "none yet"
        fail(f"no single peer '{wanted}' (peers: {names}); give its id from `pomona peers list`")
    return str(found[0]["peerId"])


def _rows(peers: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            p["name"],
            p["peerId"],
            p["url"],
            f"{p['state']} / {p['remoteState']}",
            ",".join(p["stages"]) or "all",
            "yes" if p["reachable"] else f"no: {p.get('lastError') or ''}",
        ]
        for p in peers
    ]


@app.command()
def invite(
    hours: Annotated[
        float | None, typer.Option(help="How long the code can be used [default: 1 hour]")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Make a one-time pairing code for another site to join this one."""
    with api() as client:
        body = {"hours": hours} if hours else {}
        invited = client.json("POST", "/api/v1/peers/invitations", json=body)
    if as_json:
        print_json(invited)
        return
    out.print(invited["code"], soft_wrap=True)
    done(f"valid until {invited['expiresAt']}, once. On the other site run: pomona peers join CODE")


@app.command()
def join(
    code: Annotated[str, typer.Argument(help="The code `pomona peers invite` printed there")],
    as_json: JsonOption = False,
) -> None:
    """Pair this site with the one that made the invitation (both sides record the pairing)."""
    with api() as client:
        job = client.json("POST", "/api/v1/peers", json={"invitation": code}, ok=(202,))
        job = wait_for_job(client, job)
    result = job["result"]
    if as_json:
        print_json(result)
        return
    done(
        f"paired with {result['name']} ({result['url']}); packages now flow both ways. "
        "Follow them with: pomona peers status"
    )


@app.command("list")
def list_peers(as_json: JsonOption = False) -> None:
    """Every peer, with the pairing's state on this side and on the peer's."""
    with api() as client:
        peers = client.json("GET", "/api/v1/peers")["items"]
    if as_json:
        print_json(peers)
        return
    if not peers:
        done("no peers yet: `pomona peers invite` here, then `pomona peers join CODE` there")
        return
    table("name", "id", "url", "here / there", "stages", "reachable", rows=_rows(peers))


@app.command("set")
def set_peer(
    peer: PeerArg,
    rate_limit: Annotated[
        int | None, typer.Option("--rate-limit", help="Bytes per second from it; 0: none")
    ] = None,
    window: Annotated[
        str | None,
        typer.Option(help="Hours transfers may run, UTC, e.g. 22:00-06:00; '' removes it"),
    ] = None,
    notify: Annotated[
        bool | None, typer.Option("--notify/--no-notify", help="Tell it of changes")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Set a peer's bandwidth limit, transfer window, or whether it is notified."""
    changes = {
        k: v
        for k, v in (("rateLimit", rate_limit), ("window", window), ("notify", notify))
        if v is not None
    }
    if not changes:
        fail("nothing to change: give --rate-limit, --window or --notify/--no-notify")
    with api() as client:
        found = client.json("PATCH", f"/api/v1/peers/{_peer_id(client, peer)}", json=changes)
    if as_json:
        print_json(found)
        return
    table("name", "id", "url", "here / there", "stages", "reachable", rows=_rows([found]))


@app.command()
def unpair(peer: PeerArg, yes: Annotated[bool, typer.Option("--yes", "-y")] = False) -> None:
    """End the pairing (the peer is told); once unpaired, run it again to forget the peer."""
    confirm(f"unpair {peer}?", yes)
    with api() as client:
        found = client.json("DELETE", f"/api/v1/peers/{_peer_id(client, peer)}")
    done(f"{found['name']}: unpaired on this side; it stops sending and receiving packages")


@app.command()
def rotate(peer: PeerArg) -> None:
    """Replace the pair's key, agreed with the peer."""
    with api() as client:
        job = client.json("POST", f"/api/v1/peers/{_peer_id(client, peer)}/rotate", ok=(202,))
        wait_for_job(client, job)
    done("the pair's key was replaced on both sides")


@app.command()
def sync(peer: PeerArg) -> None:
    """Read the peer's change log now instead of at the next notification or poll."""
    with api() as client:
        client.json("POST", f"/api/v1/peers/{_peer_id(client, peer)}/sync", ok=(202,))
    done("queued; follow it with: pomona peers status --watch")


def _bars() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
        transient=False,
    )


@app.command()
def status(
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Follow until idle")] = False,
    as_json: JsonOption = False,
) -> None:
    """Replication at a glance: per peer, transfers with progress bars, queues and lag."""
    with api() as client:
        found = client.json("GET", "/api/v1/replication")
        if as_json:
            print_json(found)
            return
        rows = [
            [
                p["peer"]["name"],
                f"{p['peer']['state']} / {p['peer']['remoteState']}",
                str(len(p["incoming"])),
                str(len(p["outgoing"])),
                f"{p['lagSeconds']} s",
                p["peer"].get("lastError") or "",
            ]
            for p in found["peers"]
        ]
        table("peer", "here / there", "incoming", "outgoing", "lag", "last error", rows=rows)
        if not any(p["incoming"] for p in found["peers"]):
            return
        with _bars() as bars:
            tasks: dict[str, Any] = {}
            while True:
                for p in found["peers"]:
                    for t in p["incoming"]:
                        key = f"{p['peer']['name']}:{t['filename']}"
                        label = f"{t['filename']} from {p['peer']['name']} ({t['state']})"
                        if key not in tasks:
                            tasks[key] = bars.add_task(label, total=t["size"])
                        bars.update(tasks[key], completed=t["bytes"], description=label)
                busy = any(p["incoming"] for p in found["peers"])
                if not watch or not busy:
                    break
                time.sleep(1)
                found = client.json("GET", "/api/v1/replication")
                for p in found["peers"]:
                    names = {f"{p['peer']['name']}:{t['filename']}" for t in p["incoming"]}
                    for key in [k for k in tasks if k.startswith(p["peer"]["name"] + ":")]:
                        if key not in names:  # finished
                            bars.update(tasks[key], completed=bars.tasks[tasks[key]].total)
