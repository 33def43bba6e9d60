"""Roles and grants: what a person may do, as scopes of :mod:`pomona.auth.scopes`.

A grant is a role, optionally limited to namespaces and to titles. It is written as one string
wherever it appears (settings, the CLI, the API, the grants table), read here and only here::

    admin
    editor
    editor@mac-team                    only titles of the namespace mac-team
    publisher@mac-team,ios-team        publisher needs at least one namespace
    editor:Firefox,GoogleChrome        only these titles
    editor@mac-team:Firefox

A person's :class:`~pomona.auth.scopes.Principal` is the union of their grants.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pomona.auth.scopes import Principal, expand
from pomona.errors import Invalid, Problem

READ = frozenset({"titles:read", "packages:read", "events:read"})


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    scopes: frozenset[str]
    summary: str
    needs_namespace: bool = False


ROLES: dict[str, Role] = {
    role.name: role
    for role in (
        Role("admin", frozenset({"admin"}), "everything: people, tokens, the audit log"),
        Role("editor", READ | {"titles:write"}, "create, edit and delete titles and versions"),
        Role("packager", READ | {"packages:write"}, "upload, edit and delete packages"),
        Role(
            "publisher",
            READ | {"titles:write"},
            "titles of their own namespace(s) only",
            needs_namespace=True,
        ),
        Role("viewer", READ, "read titles and packages"),
    )
}

# Namespaces are slugs; title ids are the titles' own pattern (letters, digits, '.', '_', '-').
_NAMESPACE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_TITLE = re.compile(r"[A-Za-z0-9._-]{1,255}")


@dataclass(frozen=True, slots=True)
class Grant:
    """A role, limited to namespaces and/or titles (None: not limited)."""

    role: str
    namespaces: frozenset[str] | None = None
    titles: frozenset[str] | None = None

    @property
    def spec(self) -> str:
        """The canonical string: ``editor@a,b:Firefox``."""
        text = self.role
        if self.namespaces is not None:
            text += "@" + ",".join(sorted(self.namespaces))
        if self.titles is not None:
            text += ":" + ",".join(sorted(self.titles))
        return text

    @property
    def scopes(self) -> frozenset[str]:
        return ROLES[self.role].scopes


def parse(spec: str, path: str = "") -> Grant:
    """Read one role spec; raise :class:`Invalid` naming every problem in it."""
    problems = _problems(spec, path)
    if problems:
        raise Invalid(problems, code="role_invalid")
    return _read(spec)


def parse_all(specs: Iterable[str], path: str = "/roles") -> list[Grant]:
    """Read several specs at once, every problem of every spec listed."""
    specs = list(specs)
    problems = [p for index, spec in enumerate(specs) for p in _problems(spec, f"{path}/{index}")]
    if problems:
        raise Invalid(problems, code="role_invalid")
    unique = {grant.spec: grant for grant in map(_read, specs)}
    return [unique[key] for key in sorted(unique)]


def _read(spec: str) -> Grant:
    head, _, titles = spec.strip().partition(":")
    role, at, namespaces = head.partition("@")
    return Grant(
        role,
        frozenset(namespaces.split(",")) if at else None,
        frozenset(titles.split(",")) if titles else None,
    )


def _problems(spec: str, path: str) -> list[Problem]:
    head, colon, titles = spec.strip().partition(":")
    role, at, namespaces = head.partition("@")
    known = ", ".join(ROLES)
    if role not in ROLES:
        return [Problem(path, f"unknown role '{role}' in '{spec}'; the roles are {known}")]
    problems = []
    if at:
        for name in namespaces.split(","):
            if not _NAMESPACE.fullmatch(name):
                problems.append(
                    Problem(
                        path,
                        f"'{name}' in '{spec}' is not a namespace (lower-case letters, digits "
                        "and '-', starting with a letter or digit)",
                    )
                )
    elif ROLES[role].needs_namespace:
        problems.append(Problem(path, f"'{role}' needs a namespace: {role}@NAMESPACE"))
    if colon:
        for title in titles.split(","):
            if not _TITLE.fullmatch(title):
                problems.append(Problem(path, f"'{title}' in '{spec}' is not a title id"))
    if role == "admin" and (at or colon):
        problems.append(Problem(path, "'admin' is everything; it cannot be limited"))
    return problems


def principal(name: str, grants: Iterable[Grant], **extra: object) -> Principal:
    """The union of ``grants``: every scope any of them gives; a limit on titles or namespaces
    only where every grant that writes titles has one (an unlimited editor grant wins)."""
    grants = list(grants)
    scopes: set[str] = set()
    writers: list[Grant] = []
    for grant in grants:
        scopes |= grant.scopes
        if "titles:write" in expand(grant.scopes):
            writers.append(grant)
    return Principal(
        name,
        frozenset(scopes),
        titles=_union(g.titles for g in writers),
        namespaces=_union(g.namespaces for g in writers),
        **extra,  # type: ignore[arg-type]
    )


def _union(limits: Iterable[frozenset[str] | None]) -> frozenset[str] | None:
    """None (no limit) when any is None, or when there are none (nothing to limit)."""
    found: set[str] = set()
    limits = list(limits)
    if not limits:
        return None
    for limit in limits:
        if limit is None:
            return None
        found |= limit
    return frozenset(found)


def narrow(
    owner: Principal,
    scopes: Iterable[str],
    titles: frozenset[str] | None,
    **extra: object,
) -> Principal | None:
    """``owner`` cut down to ``scopes`` and ``titles``; None when they ask for more than the
    owner holds (a personal token never exceeds its owner's rights)."""
    wanted = frozenset(scopes)
    if not wanted <= expand(owner.scopes):
        return None
    if "admin" in owner.scopes or owner.titles is None:
        effective = titles
    elif titles is None:
        effective = owner.titles
    elif titles <= owner.titles:
        effective = titles
    else:
        return None
    if "admin" in wanted and effective is not None:
        return None
    return Principal(
        owner.name,
        wanted,
        titles=effective,
        namespaces=owner.namespaces,
        **extra,  # type: ignore[arg-type]
    )


def exceeding(owner: Principal, scopes: Iterable[str]) -> list[str]:
    """The scopes of ``scopes`` that ``owner`` does not hold."""
    held = expand(owner.scopes)
    return sorted(set(scopes) - held)
