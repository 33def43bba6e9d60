"""What a username may be: the one rule, wherever a name enters (the API, the CLI, a directory).

Letters, digits, '.', '_', '-' and '@' (so that directory names such as ``j.doe`` and
``jdoe@example.org`` fit), starting with a letter or a digit, at most 64 characters. A name never
holds ':' so it cannot be mistaken for a service token's principal (``token:NAME``).
"""

from __future__ import annotations

import re

from pomona.characters import describe
from pomona.errors import Invalid, Problem

MAX_LENGTH = 64
_ALLOWED = re.compile(r"[A-Za-z0-9._@-]")
# Taken by the API (``/api/v1/users/me``) and by the audit log's own actors.
RESERVED = frozenset({"me", "system"})


def problems(name: str, path: str = "/username") -> list[Problem]:
    if not name:
        return [Problem(path, "give a username", code="username_invalid")]
    found = []
    if len(name) > MAX_LENGTH:
        found.append(Problem(path, f"use at most {MAX_LENGTH} characters", code="username_invalid"))
    for index, char in enumerate(name):
        if not _ALLOWED.fullmatch(char):
            found.append(
                Problem(
                    path,
                    f"character {index + 1} ({describe(char)}) is not allowed in a username; use "
                    "letters, digits, '.', '_', '-' and '@'",
                    code="username_invalid",
                )
            )
            break
    if not found and not name[0].isalnum():
        found.append(Problem(path, "start with a letter or a digit", code="username_invalid"))
    if name.lower() in RESERVED:
        found.append(Problem(path, f"'{name}' is reserved; pick another", code="username_invalid"))
    return found


def check(name: str, path: str = "/username") -> None:
    found = problems(name, path)
    if found:
        raise Invalid(found)
