"""``pomona packages``: upload (tus, resumable; plain PUT as a fallback), list, show, edit,
download (resumable with Range) and delete packages."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO
from urllib.parse import quote

import httpx
import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from pomona.cli.client import (
    Api,
    ApiFailure,
    Exit,
    JsonOption,
    api,
    config_path,
    confirm,
    done,
    err,
    exit_for,
    fail,
    print_json,
    problems_of,
    show_problems,
    table,
)

app = typer.Typer(
    help="Packages: upload, list, show, edit, download, delete.", no_args_is_help=True
)

FilenameArg = Annotated[str, typer.Argument(help="The package's filename on the server")]
TUS = {"Tus-Resumable": "1.0.0"}
RETRIES = 5
# Refusals of a tus piece that asking the server where the upload stands resolves.
RESYNC = {"upload_offset_mismatch", "upload_busy"}


def _record(filename: str) -> str:
    return f"/api/v1/packages/{quote(filename, safe='')}"


def progress() -> Progress:
    """A transfer bar on stderr, only at a terminal (scripts and logs get none)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not err.is_terminal,
        transient=False,
    )


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _show(record: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(record)
        return
    rows = [
        ["filename", record["filename"]],
        ["size", f"{_size(record['size'])} ({record['size']} bytes)"],
        ["sha256", record["sha256"]],
        ["md5", record["md5"]],
        ["sha512", record["sha512"]],
        # Chunks are the units the content is hashed in (replication verifies each); the CLI's
        # uploads are sent in pieces, a different thing.
        ["hash chunks", f"{record['chunkCount']} of {_size(record['chunkSize'])}"],
        ["tags", " ".join(record["tags"]) or "-"],
        ["notes", record.get("notes") or "-"],
        ["uploader", record["uploader"]],
        ["uploaded", record["uploadedAt"]],
    ]
    if "outcome" in record:
        rows.insert(0, ["outcome", record["outcome"]])
    table("field", "value", rows=rows)
    if record.get("peers"):
        _peers(record)


def _peers(record: dict[str, Any]) -> None:
    """Per peer, whether it has the package: a bar of the bytes it has."""
    with progress() as bars:
        for held in record["peers"]:
            arrow = "->" if held["direction"] == "to" else "<-"
            label = f"{arrow} {held['peer']}: {held['state']}"
            if held.get("lastError"):
                label += f" ({held['lastError']})"
            total = record["size"]
            done_bytes = total if held["state"] == "done" else held["bytes"]
            bars.add_task(label, total=total, completed=done_bytes)


def _time(value: str) -> str:
    """A time to the second, still marked UTC: ``2026-11-30T08:00:00Z``."""
    return re.sub(r"\.\d+", "", value)


@app.command("list")
def list_packages(
    q: Annotated[
        str | None, typer.Option("--search", "-q", help="Search filenames and notes")
    ] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only packages with this tag")] = None,
    as_json: JsonOption = False,
) -> None:
    """List every package."""
    query = {k: v for k, v in {"q": q, "tag": tag}.items() if v is not None}
    with api() as client:
        items = list(client.pages("/api/v1/packages", query))
    if as_json:
        print_json(items)
        return
    table(
        "filename",
        "size",
        "sha256",
        "tags",
        "uploaded",
        rows=[
            [
                p["filename"],
                _size(p["size"]),
                p["sha256"][:12],
                " ".join(p["tags"]),
                _time(p["uploadedAt"]),
            ]
            for p in items
        ],
    )


@app.command()
def show(filename: FilenameArg, as_json: JsonOption = False) -> None:
    """A package's record: size, hashes, tags, notes."""
    with api() as client:
        _show(client.json("GET", _record(filename)), as_json)


@app.command()
def edit(
    filename: FilenameArg,
    notes: Annotated[str | None, typer.Option("--notes", help="Replace the notes")] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Stage tag; repeat; replaces the tags")
    ] = None,
    clear_tags: Annotated[bool, typer.Option("--clear-tags", help="Remove every tag")] = False,
    as_json: JsonOption = False,
) -> None:
    """Set a package's notes and/or stage tags."""
    changes: dict[str, Any] = {}
    if notes is not None:
        changes["notes"] = notes
    if tag or clear_tags:
        changes["tags"] = [] if clear_tags else tag
    if not changes:
        fail("nothing to change: give --notes, --tag or --clear-tags")
    with api() as client:
        _show(client.json("PATCH", _record(filename), json=changes), as_json)


@app.command()
def delete(
    filename: FilenameArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask")] = False,
) -> None:
    """Remove a package (the server keeps its content for a while in the history)."""
    confirm(f"Delete package '{filename}'?", yes)
    with api() as client:
        client.call("DELETE", _record(filename))
    done(f"deleted package '{filename}'")


# -- upload ------------------------------------------------------------------------------------


def _chunks(handle: BinaryIO, size: int, advance: Any) -> Iterator[bytes]:
    while chunk := handle.read(min(size, 1024 * 1024)):
        advance(len(chunk))
        yield chunk


class _ResumeStore:
    """Upload URLs of unfinished uploads, so that running the same command again resumes."""

    def __init__(self) -> None:
        self.path = config_path().with_name("uploads.json")

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> str | None:
        return self._load().get(key)

    def put(self, key: str, url: str | None) -> None:
        data = self._load()
        if url is None:
            data.pop(key, None)
        else:
            data[key] = url
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=1)


def _speaks_tus(client: Api) -> bool:
    try:
        response = client.send("OPTIONS", "/api/v1/uploads/", ok=(200, 204))
    except ApiFailure:
        return False
    return "1.0.0" in response.headers.get("Tus-Version", "")


def _tus_offset(client: Api, location: str, length: int) -> int | None:
    """Where to resume an upload, or None when the server no longer has it."""
    try:
        response = client.send("HEAD", location, headers=TUS, ok=(200,))
    except ApiFailure:
        return None
    if int(response.headers.get("Upload-Length", -1)) != length:
        return None
    return int(response.headers["Upload-Offset"])


def _tus_upload(client: Api, file: Path, name: str, replace: bool, chunk_size: int) -> None:
    length = file.stat().st_size
    stat = file.stat()
    key = f"{client.conn.url}|{name}|{length}|{stat.st_mtime_ns}|{replace}"
    store = _ResumeStore()
    location = store.get(key)
    offset = _tus_offset(client, location, length) if location else None
    if location and offset is not None:
        err.print(f"resuming the upload of {name} at {_size(offset)}")
    else:
        metadata = f"filename {base64.b64encode(name.encode()).decode()}"
        if replace:
            metadata += f",replace {base64.b64encode(b'true').decode()}"
        try:
            created = client.send(
                "POST",
                "/api/v1/uploads/",
                headers={**TUS, "Upload-Length": str(length), "Upload-Metadata": metadata},
            )
        except ApiFailure as refused:
            # The server refuses a name that holds other content before any byte is sent; the
            # same content again is no clash, and worth a local hash only then.
            codes = {p.get("code") for p in refused.problems}
            if "package_exists" in codes and _stored_sha256(client, name) == _sha256_of(file):
                err.print(f"{name} is on the server with the same content; nothing to upload")
                return
            show_problems(refused.problems)
            raise typer.Exit(int(exit_for(refused.status))) from None
        location, offset = created.headers["Location"], 0
        store.put(key, location)
    failures = 0
    with file.open("rb") as handle, progress() as bar:
        task = bar.add_task(f"upload {name}", total=length, completed=offset)
        while offset < length or length == 0:
            handle.seek(offset)
            piece = handle.read(chunk_size)
            digest = base64.b64encode(hashlib.sha256(piece).digest()).decode()
            headers = {
                **TUS,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "Upload-Checksum": f"sha256 {digest}",
            }
            try:
                response = client.http.patch(location, content=piece, headers=headers)
            except httpx.TransportError:
                response = None  # resumed below from where the server says it stands
            if response is not None and response.status_code == 204:
                offset = int(response.headers["Upload-Offset"])
                bar.update(task, completed=offset)
                failures = 0
                if length == 0:
                    break
                continue
            if response is not None and response.status_code == 409:
                problems = problems_of(response)
                # An offset mismatch or a piece still being written is resynced below; any
                # other conflict (a name clash) is the server's answer.
                if not {p.get("code") for p in problems} & RESYNC:
                    store.put(key, None)
                    show_problems(problems)
                    raise typer.Exit(int(exit_for(409)))
            elif response is not None and response.status_code != 460:
                if response.status_code in (404, 410):
                    store.put(key, None)  # expired or abandoned on the server: start afresh
                show_problems(problems_of(response))
                raise typer.Exit(int(exit_for(response.status_code)))
            failures += 1
            if failures > RETRIES:
                fail(
                    f"the upload keeps failing at {_size(offset)}; run the same command again "
                    "to resume where it stopped",
                    Exit.UNREACHABLE,
                )
            # A lost connection or an offset mismatch: ask the server where it stands.
            with client.reachable():
                again = _tus_offset(client, location, length)
            if again is None:
                store.put(key, None)
                fail("the server dropped the upload; run the command again to start afresh")
            offset = again
    store.put(key, None)


def _stored_sha256(client: Api, name: str) -> str | None:
    try:
        record = client.send("GET", _record(name)).json()
    except ApiFailure:
        return None
    return record.get("sha256") if isinstance(record, dict) else None


def _sha256_of(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as handle, progress() as bar:
        task = bar.add_task(f"checksum {file.name}", total=file.stat().st_size)
        while block := handle.read(4 * 1024 * 1024):
            digest.update(block)
            bar.advance(task, len(block))
    return digest.hexdigest()


def _put_upload(client: Api, file: Path, name: str, replace: bool) -> dict[str, Any]:
    length = file.stat().st_size
    query = {"replace": "true"} if replace else {}
    with file.open("rb") as handle, progress() as bar:
        task = bar.add_task(f"upload {name}", total=length)
        body = _chunks(handle, 1024 * 1024, lambda n: bar.advance(task, n))
        return client.json(  # type: ignore[no-any-return]
            "PUT",
            _record(name),
            content=body,
            params=query,
            headers={"Content-Length": str(length), "Content-Type": "application/octet-stream"},
        )


@app.command()
def upload(
    file: Annotated[Path, typer.Argument(help="The package file", exists=True, dir_okay=False)],
    name: Annotated[str | None, typer.Option("--name", help="Filename on the server")] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a package of that name with other content")
    ] = False,
    plain: Annotated[
        bool, typer.Option("--plain", help="One plain PUT instead of a resumable tus upload")
    ] = False,
    piece_mib: Annotated[
        int,
        typer.Option(
            "--piece-size",
            "--chunk-size",
            min=1,
            max=1024,
            help="MiB sent by each tus request (not the 1 MiB chunks of `packages show`)",
        ),
    ] = 16,
    as_json: JsonOption = False,
) -> None:
    """Upload a package: resumable (tus) when the server offers it; run again to resume."""
    filename = name or file.name
    with api() as client:
        if not plain and _speaks_tus(client):
            _tus_upload(client, file, filename, replace, piece_mib * 1024 * 1024)
            record = client.json("GET", _record(filename))
        else:
            record = _put_upload(client, file, filename, replace)
    _show(record, as_json)
    done(f"uploaded {filename} ({_size(record['size'])}, sha256 {record['sha256']})")


# -- download ----------------------------------------------------------------------------------


@app.command()
def download(
    filename: FilenameArg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File or folder [default: ./<filename>]")
    ] = None,
) -> None:
    """Download a package, verify its SHA-256; an interrupted download resumes when run again."""
    target = output or Path(filename)
    if target.is_dir():
        target = target / filename
    partial = target.with_name(target.name + ".part")
    with api() as client:
        record = client.json("GET", _record(filename))
        size, expected = record["size"], record["sha256"]
        hasher = hashlib.sha256()
        have = partial.stat().st_size if partial.exists() else 0
        if have > size:
            partial.unlink()
            have = 0
        if have:
            with partial.open("rb") as handle:
                while chunk := handle.read(1024 * 1024):
                    hasher.update(chunk)
        headers = {"Range": f"bytes={have}-", "If-Range": f'"{expected}"'} if have else {}
        with progress() as bar:
            task = bar.add_task(f"download {filename}", total=size, completed=have)
            if have < size:
                with (
                    client.reachable(),
                    client.http.stream(
                        "GET", f"{_record(filename)}/download", headers=headers
                    ) as response,
                ):
                    if response.status_code not in (200, 206):
                        response.read()
                        show_problems(problems_of(response))
                        raise typer.Exit(int(exit_for(response.status_code)))
                    if response.status_code == 200 and have:
                        hasher, have = hashlib.sha256(), 0  # the content changed: start over
                        bar.update(task, completed=0)
                    with partial.open("ab" if have else "wb") as handle:
                        for chunk in response.iter_raw(1024 * 1024):
                            handle.write(chunk)
                            hasher.update(chunk)
                            bar.advance(task, len(chunk))
    if hasher.hexdigest() != expected:
        partial.unlink(missing_ok=True)
        fail(
            f"the download of {filename} does not match its SHA-256 ({expected}); "
            "it was removed, run the command again",
            Exit.REFUSED,
        )
    partial.replace(target)
    done(f"downloaded {filename} to {target} ({_size(size)}, sha256 verified)")
