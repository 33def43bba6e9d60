"""Backup archives: written as PatchServer wrote them, read as if every upload were hostile.

Layout: ``patch_archive/<id>.json`` holds each title's current definition, exactly what
PatchServer's backup download gave, so either server restores the other's backups.
Pomona adds ``pomona/titles.json`` (each title's enabled state) and, with history,
``pomona/history/<id>.json`` (every revision). Archives from other tools (a folder of
definitions zipped, Kinobi's ``patch/<id>.json``) restore too: every ``.json`` member outside
``pomona/`` is read as a definition.

Reading refuses, before anything is decompressed: too many members, absolute paths or ``..``,
symbolic links, declared sizes over the limits, compression ratios beyond the limit (zip
bombs, whatever the member's size), definitions whose declared sizes alone pass the request's
:class:`~pomona.titles.budget.Budget`; while decompressing, members that turn out larger than
declared; and before parsing each definition, one that would pass the budget once parsed.
"""

from __future__ import annotations

import lzma
import stat
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO, Any

import orjson

from pomona.errors import BadRequest, DomainError, Invalid, Problem, TooLarge
from pomona.titles.budget import Budget, give_back
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
            states[title.id] = {
                **title.state.as_dict(),
                "revision": title.revision,
                "namespace": title.namespace,
            }
            if history:
                archive.writestr(f"{HISTORY_FOLDER}/{title.id}.json", pretty(title.history))
        archive.writestr(STATES, pretty(states))


def spool() -> IO[bytes]:
    """A file that stays in memory while small and moves to disk when large."""
    return tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)


def _refuse(
    name: str, message: str, code: str, kind: type[DomainError] = BadRequest
) -> DomainError:
    return kind([Problem(f"/{name}" if name else "", message)], code=code)


def _safe_name(name: str) -> bool:
    if not name or "\x00" in name or "\\" in name or name.startswith("/"):
        return False
    if len(name) > 1 and name[1] == ":":  # a Windows drive
        return False
    return ".." not in name.split("/")


def _members(archive: zipfile.ZipFile, limits: Limits) -> list[zipfile.ZipInfo]:
    """The archive's files (folders left out), every one checked before any is read."""
    files: list[zipfile.ZipInfo] = []
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise _refuse(
            "",
            f"the archive has {len(infos)} files; the limit is {limits.max_members} "
            "(archive_max_members)",
            "archive_too_many_files",
            TooLarge,
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
                TooLarge,
            )
        # Every member, small ones too: thousands of small bombs are one big one. (Deflate's
        # own overhead keeps a real file of a few bytes far below any sensible limit.)
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_ratio:
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
                TooLarge,
            )
        files.append(info)
    return files


# What reading a damaged member raises: a bad CRC, a truncated stream, deflate or LZMA data that
# does not decode (zlib.error is no OSError), a compression method zipfile does not know.
_DAMAGED = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    NotImplementedError,
    zlib.error,
    lzma.LZMAError,
)

# The end of the central directory: signature, disk numbers, entries here and in all, the
# directory's size and offset, the comment's length; and ZIP64's record and its locator.
_END = struct.Struct("<4s4H2LH")
_END64 = struct.Struct("<4sQ2H2L4Q")
_LOCATOR64 = struct.Struct("<4sLQL")
# The central directory is read whole into ZipInfo objects before any limit can be checked,
# and it may hold more entries than it declares: its size is what bounds them. Real entries
# take 46 bytes plus a name and a few extra fields, well under this on average.
_DIRECTORY_BYTES_PER_MEMBER = 512


def _check_directory(source: IO[bytes], limits: Limits) -> None:
    """Refuse a central directory too large for ``max_members`` files before it is read."""
    source.seek(0, 2)
    length = source.tell()
    tail_at = max(0, length - _END.size - 0xFFFF)
    source.seek(tail_at)
    tail = source.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0:
        source.seek(0)
        return  # not a zip: zipfile says so in its own words
    size = _END.unpack_from(tail, at)[5]
    locator_at = tail_at + at - _LOCATOR64.size
    if size == 0xFFFFFFFF and locator_at >= 0:
        source.seek(locator_at)
        locator = _LOCATOR64.unpack(source.read(_LOCATOR64.size))
        if locator[0] == b"PK\x06\x07":
            source.seek(locator[2])
            size = _END64.unpack(source.read(_END64.size))[8]
    source.seek(0)
    if size > limits.max_members * _DIRECTORY_BYTES_PER_MEMBER:
        raise _refuse(
            "",
            f"the archive's directory takes {size} bytes: more than {limits.max_members} files "
            "can hold (archive_max_members)",
            "archive_too_many_files",
            TooLarge,
        )


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


def read_archive(source: IO[bytes], limits: Limits, budget: Budget) -> Gathered:
    """Every definition in the zip, with the state and history Pomona keeps beside them.
    Decompressing takes a while for many titles: callers on an event loop run this in a
    worker thread."""
    try:
        _check_directory(source, limits)
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError, struct.error) as exc:
        raise _refuse(
            "", f"the upload is not a readable zip archive ({exc})", "archive_unreadable"
        ) from None
    content = Gathered()
    states: dict[str, Any] = {}
    histories: dict[str, Any] = {}
    documents: list[tuple[str, Any]] = []
    with archive:
        files = _members(archive, limits)
        wanted = [info for info in files if _is_json(info.filename)]
        # e.g. __MACOSX/ resource forks, READMEs
        content.ignored.extend(i.filename for i in files if not _is_json(i.filename))
        budget.check_ahead("", [info.file_size for info in wanted])
        try:
            for info in wanted:
                name = info.filename
                where = f"/{name}"
                budget.count(where, 1)
                data = _read(archive, info, limits)
                budget.spend(where, data)
                parsed = _parse(name, data)
                del data  # the parsed document is what is kept
                if name == STATES:
                    states = parsed if isinstance(parsed, dict) else {}
                elif name.startswith(HISTORY_FOLDER + "/"):
                    histories[name.rsplit("/", 1)[-1][: -len(".json")]] = parsed
                elif name.startswith(META_FOLDER + "/"):
                    content.ignored.append(name)
                else:
                    documents.append((name, parsed))
        except _DAMAGED as exc:
            raise _refuse("", f"the archive is damaged ({exc})", "archive_damaged") from None
        except BaseException:
            # The refusal's traceback keeps this frame alive until the collector's next full
            # pass: let go of what was parsed now (see TitleImports.apply_items).
            documents.clear()
            histories.clear()
            states.clear()
            give_back()
            raise
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
                _namespace(state),
            )
        )
    return content


def read_json_file(name: str, data: bytes, budget: Budget) -> list[Incoming]:
    """One uploaded ``.json`` file: a definition, or a list of definitions (each counted as a
    document of the request)."""
    budget.spend(f"/{name}", data)
    parsed = _parse(name, data)
    if isinstance(parsed, list):
        budget.count(f"/{name}", len(parsed))
        return [Incoming(f"/{name}/{i}", d) for i, d in enumerate(parsed)]
    budget.count(f"/{name}", 1)
    return [Incoming(f"/{name}", parsed)]


def _is_json(name: str) -> bool:
    return name.lower().endswith(".json") and not name.rsplit("/", 1)[-1].startswith("._")


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


def _namespace(value: Any) -> str | None:
    """The namespace a backup kept a title in; the restore checks it is one of this server's."""
    found = value.get("namespace") if isinstance(value, dict) else None
    return found if isinstance(found, str) and found else None


def _valid_history(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, dict) and isinstance(item.get("number"), int) for item in value
    )
