"""``pomona backup verify FILE``: restore a backup into a scratch server and compare.

A backup is only as good as its restore. This builds a throwaway Pomona (SQLite in a temporary
directory, no queue workers), restores the file through the same API route an admin would use,
backs the scratch server up again and compares, title by title, the definitions, their states
and their histories; the package records and settings in the file are read and checked too.
Nothing is sent anywhere and the live server is not touched.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from pomona.ops.backups import PACKAGES, SETTINGS
from pomona.settings import Settings
from pomona.titles.archive import ARCHIVE_FOLDER, HISTORY_FOLDER, STATES

# What a restore gives anew rather than copies: the title's revision number (the restore is a
# revision of its own, added after the history it brings back) and the definition's
# lastModified (the time of that revision).
RENEWED = frozenset({"revision"})
STAMPED = "lastModified"


@dataclass
class Verdict:
    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _contents(data: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            name: orjson.loads(archive.read(name))
            for name in archive.namelist()
            if name.endswith(".json")
        }


def _titles(contents: dict[str, Any]) -> dict[str, Any]:
    prefix = ARCHIVE_FOLDER + "/"
    return {
        name.removeprefix(prefix).removesuffix(".json"): body
        for name, body in contents.items()
        if name.startswith(prefix)
    }


def _unstamped(document: Any) -> Any:
    if isinstance(document, dict):
        return {k: v for k, v in document.items() if k != STAMPED}
    return document


def _compare(original: dict[str, Any], restored: dict[str, Any], verdict: Verdict) -> None:
    mine, theirs = _titles(original), _titles(restored)
    for missing in sorted(set(mine) - set(theirs)):
        verdict.problems.append(f"title {missing}: in the backup, not restored")
    states, restored_states = original.get(STATES, {}), restored.get(STATES, {})
    revisions = 0
    for title_id in sorted(set(mine) & set(theirs)):
        if _unstamped(mine[title_id]) != _unstamped(theirs[title_id]):
            verdict.problems.append(f"title {title_id}: restored definition differs")
        kept = {k: v for k, v in states.get(title_id, {}).items() if k not in RENEWED}
        again = {k: v for k, v in restored_states.get(title_id, {}).items() if k not in RENEWED}
        if kept != again:
            verdict.problems.append(f"title {title_id}: state {kept} restored as {again}")
        history = original.get(f"{HISTORY_FOLDER}/{title_id}.json")
        if history is not None:
            restored_history = restored.get(f"{HISTORY_FOLDER}/{title_id}.json") or []
            revisions += len(history)
            # The backup's revisions come back as they were, followed by the restore's own.
            if (
                restored_history[: len(history)] != history
                or len(restored_history) > len(history) + 1
            ):
                verdict.problems.append(
                    f"title {title_id}: {len(history)} revisions in the backup, "
                    f"{len(restored_history)} after the restore, not the same ones"
                )
    verdict.checked.append(
        f"{len(mine)} titles restored into a scratch database and identical "
        f"({revisions} revisions of history)"
    )


def _records(contents: dict[str, Any], verdict: Verdict) -> None:
    packages = contents.get(PACKAGES)
    if packages is None:
        verdict.checked.append("no package records in the file (an API backup, not scheduled)")
    elif not isinstance(packages, list) or not all(
        isinstance(p, dict) and {"filename", "sha256", "size"} <= set(p) for p in packages
    ):
        verdict.problems.append(f"{PACKAGES}: not a list of package records")
    else:
        verdict.checked.append(f"{len(packages)} package records readable")
    found = contents.get(SETTINGS)
    if found is not None:
        try:
            Settings.model_validate(
                {k: v for k, v in found.items() if "secret" not in k and "password" not in k}
            )
            verdict.checked.append("settings readable and valid")
        except ValueError as exc:
            verdict.problems.append(f"{SETTINGS}: {str(exc).splitlines()[0]}")


async def verify(data: bytes, name: str) -> Verdict:
    """Restore the backup ``data`` (the file ``name``) into a scratch server and compare what
    comes back."""
    from pomona.app import create_app  # the whole server: loaded only for this command

    verdict = Verdict()
    try:
        original = _contents(data)
    except (zipfile.BadZipFile, ValueError) as exc:
        verdict.problems.append(f"{name}: not a readable backup ({exc})")
        return verdict
    with tempfile.TemporaryDirectory(prefix="pomona-verify-") as scratch:
        settings = Settings(
            data_dir=Path(scratch),
            queue_embedded_workers=0,
            metrics_enabled=False,
            archive_max_bytes=max(len(data), 256 * 1024**2),
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            _, secret = await app.state.services.tokens.create("verify", ["admin"])
            headers = {"Authorization": f"Bearer {secret}"}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://verify", headers=headers, timeout=600
            ) as client:
                answer = await client.post(
                    "/api/v1/backups/restore",
                    content=data,
                    headers={"Content-Type": "application/zip"},
                )
                if answer.status_code != 200:
                    for problem in answer.json().get("errors", []):
                        where = problem.get("path") or ""
                        verdict.problems.append(f"restore refused: {where} {problem['message']}")
                    return verdict
                again = await client.get("/api/v1/backups", params={"history": "true"})
                restored = _contents(again.content)
    _compare(original, restored, verdict)
    _records(original, verdict)
    return verdict
