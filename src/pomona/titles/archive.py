"""Backup archives: written as PatchServer wrote them, read as if every upload were hostile.

Layout: ``patch_archive/<id>.json`` holds each title's current definition, exactly what
PatchServer's backup download gave, so either server restores the other's backups.
Pomona adds ``pomona/titles.json`` (each title's enabled state) and, with history,
``pomona/history/<id>.json`` (every revision). Archives from other tools (a folder of
definitions zipped, Kinobi's ``patch/<id>.json``) restore too: every ``.json`` member outside
``pomona/`` is read as a definition.

Reading refuses, before anything is decompressed: too many members, absolute paths or ``..``,
symbolic links, declared sizes over the limits, compression ratios beyond the limit (zip
bombs); and while decompressing, members that turn out larger than declared.
"""

from __future__ import annotations

import stat
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson

from pomona.errors import BadRequest, DomainError, Invalid, Problem
from pomona.titles.feed import pretty
from pomona.titles.models import TitleState
from pomona.titles.values import Exported, Gathered, Incoming

ARCHIVE_FOLDER = "patch_archive"
META_FOLDER = "pomona"
STATES = f"{META_FOLDER}/titles.json"
HISTORY_FOLDER = f"{META_FOLDER}/history"


@dataclass(frozen=True, slots=True)
class Limits:
    max_members: int
    max_member_bytes: int  # one definition: max_document_bytes
    max_total_bytes: int
    max_ratio: float


def write_archive(titles: list[Exported], *, history: bool, target: IO[bytes]) -> None:
    """Write the zip into ``target``. Compressing takes a while for many titles: callers on an
    event loop run this in a worker thread."""
    states: dict[str, Any] = {}
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for title in titles:
            archive.writestr(f"{ARCHIVE_FOLDER}/{title.id}.json", pretty(title.document))
            states[title.id] = {**title.state.as_dict(), "revision": title.revision}
            if history:
                archive.writestr(f"{HISTORY_FOLDER}/{title.id}.json", pretty(title.history))
        archive.writestr(STATES, pretty(states))


def spool() -> IO[bytes]:
    """A file that stays in memory while small and moves to disk when large."""
    return tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)


def _refuse(name: str, message: str, code: str) -> DomainError:
    return BadRequest([Problem(f"/{name}" if name else "", message)], code=code)


def _safe_name(name: str) -> bool:
    if not name or "\x00" in name or "\\" in name or name.startswith("/"):
        return False
    if len(name) > 1 and name[1] == ":":  # a Windows drive
        return False
    return ".." not in name.split("/")


def _members(archive: zipfile.ZipFile, limits: Limits) -> Iterator[zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise _refuse(
            "",
            f"the archive has {len(infos)} files; the limit is {limits.max_members} "
            "(archive_max_members)",
            "archive_too_many_files",
        )
    total = 0
    for info in infos:
        if not _safe_name(info.filename):
            raise _refuse(
                info.filename,
                "unsafe path in the archive (absolute, or with '..')",
                "archive_unsafe_path",
            )
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise _refuse(info.filename, "the archive contains a symbolic link", "archive_symlink")
        if info.is_dir():
            continue
        if info.file_size > limits.max_member_bytes:
            raise _refuse(
                info.filename,
                f"{info.file_size} bytes uncompressed; a definition may have at most "
                f"{limits.max_member_bytes} (max_document_bytes)",
                "archive_file_too_large",
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_ratio and info.file_size > 64 * 1024:
            raise _refuse(
                info.filename,
                f"compressed {ratio:.0f}:1, beyond the limit of {limits.max_ratio:g}:1 "
                "(archive_max_ratio): refused as a zip bomb",
                "archive_ratio_too_high",
            )
        total += info.file_size
        if total > limits.max_total_bytes:
            raise _refuse(
                "",
                f"the archive uncompresses to more than {limits.max_total_bytes} bytes "
                "(archive_max_uncompressed_bytes)",
                "archive_too_large",
            )
        yield info


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> bytes:
    # The declared size may lie: read at most one byte beyond it, and never past the limit.
    ceiling = min(info.file_size, limits.max_member_bytes)
    with archive.open(info) as member:
        data = member.read(ceiling + 1)
    if len(data) > ceiling:
        raise _refuse(
            info.filename, "the file is larger than the archive declares", "archive_size_lie"
        )
    return data


def read_archive(source: IO[bytes], limits: Limits) -> Gathered:
    """Every definition in the zip, with the state and history Pomona keeps beside them.
    Decompressing takes a while for many titles: callers on an event loop run this in a
    worker thread."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _refuse(
            "", f"the upload is not a readable zip archive ({exc})", "archive_unreadable"
        ) from None
    content = Gathered()
    states: dict[str, Any] = {}
    histories: dict[str, Any] = {}
    documents: list[tuple[str, Any]] = []
    with archive:
        try:
            for info in _members(archive, limits):
                name = info.filename
                base = name.rsplit("/", 1)[-1]
                if not name.lower().endswith(".json") or base.startswith("._"):
                    content.ignored.append(name)  # e.g. __MACOSX/ resource forks, READMEs
                    continue
                parsed = _parse(name, _read(archive, info, limits))
                if name == STATES:
                    states = parsed if isinstance(parsed, dict) else {}
                elif name.startswith(HISTORY_FOLDER + "/"):
                    histories[base[: -len(".json")]] = parsed
                elif name.startswith(META_FOLDER + "/"):
                    content.ignored.append(name)
                else:
                    documents.append((name, parsed))
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            raise _refuse("", f"the archive is damaged ({exc})", "archive_damaged") from None
    for name, document in documents:
        title_id = document.get("id") if isinstance(document, dict) else None
        state = states.get(title_id) if isinstance(title_id, str) else None
        history = histories.get(title_id) if isinstance(title_id, str) else None
        content.items.append(
            Incoming(
                f"/{name}",
                document,
                _state(state),
                history if _valid_history(history) else None,
            )
        )
    return content


def read_json_file(name: str, data: bytes) -> list[Incoming]:
    """One uploaded ``.json`` file: a definition, or a list of definitions."""
    parsed = _parse(name, data)
    if isinstance(parsed, list):
        return [Incoming(f"/{name}/{i}", d) for i, d in enumerate(parsed)]
    return [Incoming(f"/{name}", parsed)]


def is_zip(data: bytes) -> bool:
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def _parse(name: str, data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise Invalid([Problem(f"/{name}", f"not valid JSON: {exc}")], code="not_json") from None


def _state(value: Any) -> TitleState | None:
    if not isinstance(value, dict):
        return None
    disabled = value.get("disabledVersions", [])
    if not isinstance(disabled, list) or not all(isinstance(v, str) for v in disabled):
        disabled = []
    return TitleState(value.get("enabled", True) is not False, tuple(disabled))


def _valid_history(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, dict) and isinstance(item.get("number"), int) for item in value
    )
