"""Token scopes. ``admin`` includes every other scope."""

from __future__ import annotations

from dataclasses import dataclass

SCOPES: dict[str, str] = {
    "admin": "everything, including managing tokens",
    "titles:read": "read titles through the API (the Jamf feed needs no token)",
    "titles:write": "create, edit and delete titles and versions (implies titles:read)",
    "packages:read": "read package records and download packages through the API",
    "packages:write": "upload, edit and delete packages (implies packages:read)",
    "events:read": "read the event log, its live stream and the event catalogue",
}

IMPLIED: dict[str, frozenset[str]] = {
    "admin": frozenset(SCOPES),
    "titles:write": frozenset({"titles:write", "titles:read"}),
    "packages:write": frozenset({"packages:write", "packages:read"}),
}


def expand(scopes: frozenset[str]) -> frozenset[str]:
    granted: set[str] = set()
    for scope in scopes:
        granted |= IMPLIED.get(scope, {scope})
    return frozenset(granted)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, and what they may do."""

    name: str
    scopes: frozenset[str]
    titles: frozenset[str] | None = None  # None: every title its scopes allow
    namespaces: frozenset[str] | None = None  # None: every namespace (publisher)
    # A person (None: a service token): their username, and how they signed in, for the audit
    # log: "session", "token:NAME" (a personal token), "ldap".
    user: str | None = None
    via: str | None = None

    def allows(self, scope: str) -> bool:
        return scope in expand(self.scopes)

    def may_write_title(self, title_id: str) -> bool:
        return self.allows("titles:write") and (self.titles is None or title_id in self.titles)
