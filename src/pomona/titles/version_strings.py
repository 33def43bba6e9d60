"""What a version string may be: one rule for every place a version enters.

A version is more than a label: it names a URL path segment (``/versions/{version}``), it is
compared for uniqueness, and Jamf Pro shows it as ``currentVersion``. So it is a non-blank
single line of at most 255 characters, without ``/`` or control characters, and without
whitespace around it. Definitions repair that whitespace (see ``validation.py``); a version
that names an existing one (a URL, a query) must already be exact.
"""

from __future__ import annotations

from pomona.characters import describe, invisible, invisible_class, space_class
from pomona.errors import Invalid, Location, Problem

CODE = "version_invalid"
MAX_LENGTH = 255
# Clients resolve these path segments before sending a URL, so such a version has no URL.
_PATH_STEPS = frozenset({".", ".."})


def refusal(version: str) -> str | None:
    """Why ``version`` cannot be a version, naming the first offending character and its
    position (counted from 1); None when it can be one."""
    if not version.strip():
        return "must not be blank" if version else "must not be empty"
    if len(version) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters long"
    if version in _PATH_STEPS:
        return f"'{version}' cannot be a version: clients read it as a step in a URL path"
    for position, char in enumerate(version, 1):
        if char == "/":
            return (
                f"contains '/' at character {position}; a version names a URL path segment, "
                "which cannot hold '/'"
            )
        if invisible(char) is not None:
            return (
                f"contains the control character {describe(char)} at character {position}; "
                "a version is one line of visible text"
            )
    if version != version.strip():
        return f"{surrounding_whitespace(version)}; remove it"
    return None


def pattern() -> str:
    """The rule as a regular expression, for documents (``/.`` and ``/..`` aside: clients
    resolve those segments before they send a URL)."""
    refused = f"/{invisible_class()}"
    edge = f"[^{refused}{space_class()}]"
    return f"^{edge}(?:[^{refused}]{{0,{MAX_LENGTH - 2}}}{edge})?$"


def surrounding_whitespace(version: str) -> str:
    """The whitespace around ``version``, by its first character and that one's position."""
    position = 1 if version[0].isspace() else len(version.rstrip()) + 1
    return f"has whitespace around it ({describe(version[position - 1])} at character {position})"


def require_version(version: str, path: str = "/version", location: Location = "path") -> str:
    """``version`` when it can name a version, or ``Invalid`` saying what is wrong and where."""
    problem = refusal(version)
    if problem is not None:
        raise Invalid([Problem(path, problem, location, CODE)], code=CODE)
    return version
