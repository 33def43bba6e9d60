"""Namespaces (publishers): what a slug may be, what a namespace is, how its feed decorates ids,
and which namespaces a caller may write.

Every title belongs to one namespace, and each namespace has its own Jamf feed at
``/jamf/v1/<slug>/``. The default namespace is the main feed at ``/jamf/v1/``: it always exists,
with or without a row of its own, so a server that never creates a namespace behaves as it
always did. Title ids stay unique across the whole server, so ``/api/v1/titles/{id}`` names
one title whatever its namespace.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from pomona.characters import describe, invisible
from pomona.errors import Forbidden, Invalid, Location, Problem

DEFAULT = "default"
SLUG_MAX = 63
DISPLAY_NAME_MAX = 255
# A namespace's feed sits beside the main feed's own paths: these cannot be slugs.
RESERVED = frozenset({"software", "patch"})
_SLUG = re.compile(r"[a-z0-9-]+")


@dataclass(frozen=True, slots=True)
class NamespaceInfo:
    slug: str
    display_name: str
    decorate_ids: bool
    created_at: datetime | None  # None: the default namespace, never stored
    titles: int = 0


def slug_problems(slug: str, path: str = "/slug", location: Location = "body") -> list[Problem]:
    """Why ``slug`` cannot name a namespace: lower-case letters, digits and '-', 1 to 63,
    starting and ending with a letter or digit; each wrong character is named."""
    problems: list[Problem] = []

    def refuse(message: str) -> None:
        problems.append(Problem(path, message, location, "namespace_slug_invalid"))

    if not slug:
        refuse("a namespace slug cannot be empty")
        return problems
    if len(slug) > SLUG_MAX:
        refuse(f"a namespace slug has at most {SLUG_MAX} characters, not {len(slug)}")
    for char in dict.fromkeys(slug):
        if not _SLUG.fullmatch(char):
            refuse(
                f"'{describe(char)}' may not be in a namespace slug: use lower-case letters, "
                "digits and '-'"
            )
    if slug[0] == "-" or slug[-1] == "-":
        refuse("a namespace slug starts and ends with a letter or a digit")
    if slug in RESERVED:
        refuse(f"'{slug}' is a path of the feed itself and cannot be a namespace slug")
    return problems


def display_name_problems(name: str, path: str = "/displayName") -> list[Problem]:
    problems: list[Problem] = []
    if not name.strip():
        problems.append(
            Problem(path, "a display name cannot be empty", code="display_name_invalid")
        )
    if len(name) > DISPLAY_NAME_MAX:
        problems.append(
            Problem(
                path,
                f"a display name has at most {DISPLAY_NAME_MAX} characters, not {len(name)}",
                code="display_name_invalid",
            )
        )
    for char in dict.fromkeys(name):
        why = invisible(char)
        if why is not None:
            problems.append(
                Problem(
                    path,
                    f"'{describe(char)}' {why} and may not be in a display name",
                    code="display_name_invalid",
                )
            )
    return problems


# -- decoration ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decoration:
    """How a namespace's feed shows its titles, CommunityPatch's way: id ``Xcode_Bryson`` and
    name "Xcode (Bryson)". The id suffix comes from the slug, which never changes, so the ids
    Jamf Pro knows stay the same when the display name is edited."""

    id_suffix: str
    name_suffix: str

    @classmethod
    def of(cls, slug: str, display_name: str) -> Decoration:
        return cls("_" + "-".join(part.capitalize() for part in slug.split("-")), display_name)

    def feed_id(self, title_id: str) -> str:
        return title_id + self.id_suffix

    def name(self, name: str) -> str:
        return f"{name} ({self.name_suffix})"


# -- who may write where --------------------------------------------------------------------------


def namespace_limit_problems(
    scopes: Sequence[str], namespaces: Sequence[str] | None, path: str = "/namespaces"
) -> list[Problem]:
    """Why a token cannot be limited to ``namespaces``: an admin token manages namespaces
    themselves, so it cannot be kept to some; each slug must be one a namespace can have."""
    if namespaces is None:
        return []
    problems: list[Problem] = []
    if "admin" in scopes:
        problems.append(Problem(path, "an admin token cannot be limited to namespaces"))
    if not namespaces:
        problems.append(Problem(path, "name at least one namespace, or leave the limit out"))
    for index, slug in enumerate(namespaces):
        if slug != DEFAULT:
            problems.extend(slug_problems(slug, f"{path}/{index}"))
    return problems


def home_namespace(allowed: frozenset[str] | None) -> str:
    """Where a caller's new titles go when it says nothing: its only namespace when its token is
    limited to one, else the default."""
    return next(iter(allowed)) if allowed is not None and len(allowed) == 1 else DEFAULT


def target_namespace(allowed: frozenset[str] | None, asked: str | None) -> str:
    """The namespace a write goes to: the one asked for (a query's ``namespace``), else the
    caller's only namespace when its token is limited to one (so a publisher's scripts need not
    say it), else the default. Refused at once if the caller may not write there."""
    if (
        asked is not None
        and asked != DEFAULT
        and (problems := slug_problems(asked, "/namespace", "query"))
    ):
        raise Invalid(problems)
    if asked is None:
        asked = home_namespace(allowed)
    check_namespaces(allowed, [("/namespace", "", asked)])
    return asked


def bulk_namespace(allowed: frozenset[str] | None, asked: str | None) -> str | None:
    """The namespace a restore or import writes to, as :func:`target_namespace` chooses it; or
    None when nothing chooses one, and each title goes where its backup kept it."""
    if asked is None and (allowed is None or len(allowed) != 1):
        return None
    return target_namespace(allowed, asked)


def check_namespaces(
    allowed: frozenset[str] | None, written: Iterable[tuple[str, str, str]]
) -> None:
    """Refuse, with ``namespace_forbidden`` and one problem per title, every write of
    ``written`` (``(path, title id, namespace)``) outside the namespaces ``allowed`` (None:
    every namespace). The message names the namespaces the caller may write."""
    if allowed is None:
        return
    may = ", ".join(sorted(allowed)) or "no namespace"
    problems = [
        Problem(
            path,
            f"this token may not write in namespace '{namespace}'"
            + (f" (title '{title_id}')" if title_id else "")
            + f"; it may write only in: {may}",
        )
        for path, title_id, namespace in dict.fromkeys(written)
        if namespace not in allowed
    ]
    if problems:
        raise Forbidden(problems, code="namespace_forbidden")
