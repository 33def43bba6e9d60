"""Archives for the tests of budgets, memory and fuzzing: valid backups and hostile zips."""

from __future__ import annotations

import io
import json
import random
import zipfile
from typing import Any

from bench import data

from pomona.titles.budget import VALUE_BYTES, values_in


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def cost(content: bytes) -> int:
    """What the budget counts for a document (without its floor)."""
    return len(content) + VALUE_BYTES * values_in(content)


def dense(values: int, seed: int = 0) -> bytes:
    """A JSON array of ``values`` small containers: the most objects per byte that still
    compresses less than 200:1 (the items vary, so deflate cannot fold them)."""
    rnd = random.Random(seed)
    items = [rnd.choice((b"[]", b"{}", b'{"a":[]}')) for _ in range(values)]
    return b"[" + b",".join(items) + b"]"


def hostile(budget: int, *, per_member: int = 12_000) -> dict[str, bytes]:
    """Members of ``dense`` arrays whose costs add up to just under ``budget``."""
    members: dict[str, bytes] = {}
    spent = 0
    while True:
        content = dense(per_member, len(members))
        if spent + cost(content) > budget:
            return members
        spent += cost(content)
        members[f"h{len(members)}.json"] = content


def valid(budget: int, *, versions: int = 200, floor: int = 16 * 1024) -> dict[str, bytes]:
    """A backup of titles of ``versions`` versions each, as many as ``budget`` admits: the
    most validation, revisions and feed per byte of budget among real-looking definitions."""
    members: dict[str, bytes] = {}
    spent = 0
    while True:
        title_id = f"T{len(members):05d}"
        content = json.dumps(data.title(title_id, versions)).encode()
        if spent + max(floor, cost(content)) > budget:
            return members
        spent += max(floor, cost(content))
        members[f"patch_archive/{title_id}.json"] = content


def definition(title_id: str, versions: int = 2) -> dict[str, Any]:
    return data.title(title_id, versions)
