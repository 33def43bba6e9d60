"""Domain errors: what went wrong, located, with a stable code, and nothing of HTTP.

Services raise these; they carry no status code and name no URL, so the API, the CLI's
server-side commands, the job runner and the web UI can each answer them in their own terms.
The HTTP layer maps each *kind* to a status in one table (:mod:`pomona.errors_http`).

A problem's ``path`` is a JSON pointer (RFC 6901) into the part of the input named by
``location`` (``body``, ``query``, ``path`` or ``header``), so a client can tell ``/limit`` in
the query string from a ``limit`` key in the body. Its ``code`` is machine-readable and stable
(``title_not_found``, ``invalid``...): clients decide what to say next from it, never from the
message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar, Literal

Location = Literal["body", "query", "path", "header"]


def pointer(parts: Iterable[str | int]) -> str:
    """Join path parts into a JSON pointer, escaping ``~`` and ``/`` as RFC 6901 says."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or normalised) in a request, located by a JSON pointer."""

    path: str
    message: str
    location: Location = "body"
    code: str | None = None

    def as_dict(self) -> dict[str, str]:
        found = {"path": self.path, "message": self.message, "location": self.location}
        if self.code is not None:
            found["code"] = self.code
        return found


# Every problem is listed, but not without end: an import of a 3 MB array of empty documents
# answered 88 MB of problems. The first ones, located, and how many more, are what a client can
# act on.
MAX_PROBLEMS = 1000


class DomainError(Exception):
    """Something a caller asked for that cannot be done, with every problem found.

    ``kind`` names the class of failure (the HTTP layer's table turns it into a status);
    ``code`` is the stable name of this failure, ``kind`` unless a more precise one is given.
    Every problem carries a code: its own, or the error's.
    """

    kind: ClassVar[str] = "internal"

    def __init__(
        self,
        problems: Sequence[Problem] | str,
        path: str = "",
        location: Location = "body",
        *,
        code: str | None = None,
    ) -> None:
        self.code = code or self.kind
        if isinstance(problems, str):
            problems = [Problem(path, problems, location)]
        if len(problems) > MAX_PROBLEMS:
            more = len(problems) - MAX_PROBLEMS
            problems = [
                *problems[:MAX_PROBLEMS],
                Problem("", f"and {more} more problems; mend these first", "body", "more_problems"),
            ]
        self.problems = [p if p.code else replace(p, code=self.code) for p in problems]
        super().__init__("; ".join(f"{p.path or '/'}: {p.message}" for p in self.problems))


class BadRequest(DomainError):
    """The input cannot be read at all (not JSON, an empty body, a malformed header)."""

    kind = "bad_request"


class Unauthenticated(DomainError):
    """No credentials, or credentials that are unknown, revoked or expired."""

    kind = "unauthenticated"


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    kind = "forbidden"


class NotFound(DomainError):
    kind = "not_found"


class NotAllowed(DomainError):
    """The resource exists but does not take this operation."""

    kind = "not_allowed"


class Conflict(DomainError):
    """The request contradicts the current state (the title exists, the name is taken)."""

    kind = "conflict"


class Gone(DomainError):
    """It existed and does no more (an expired upload)."""

    kind = "gone"


class PreconditionFailed(DomainError):
    """A condition the caller set (a revision to match, a protocol version) does not hold."""

    kind = "precondition_failed"


class TooSlow(DomainError):
    """The client stopped sending before its request was complete."""

    kind = "too_slow"


class TooLarge(DomainError):
    kind = "too_large"


class UnsupportedMedia(DomainError):
    kind = "unsupported_media"


class Invalid(DomainError):
    """The input was read and is wrong; every problem is listed and located."""

    kind = "invalid"


class ChecksumMismatch(DomainError):
    """Data arrived, but does not match the checksum the caller sent with it."""

    kind = "checksum_mismatch"


class TooMany(DomainError):
    """The caller has asked too often; ``retry_after`` says in how many seconds they may ask
    again. A rate limit, not a judgement of the request itself."""

    kind = "too_many"

    def __init__(
        self,
        problems: Sequence[Problem] | str,
        path: str = "",
        location: Location = "header",
        *,
        code: str | None = None,
        retry_after: int = 1,
    ) -> None:
        super().__init__(problems, path, location, code=code)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """Something the server needs (the database, the job queue, another host) is away."""

    kind = "unavailable"


class Internal(DomainError):
    """A failure of the server itself; the log has the details."""

    kind = "internal"


KINDS: dict[str, type[DomainError]] = {
    cls.kind: cls
    for cls in (
        BadRequest,
        Unauthenticated,
        Forbidden,
        NotFound,
        NotAllowed,
        Conflict,
        Gone,
        PreconditionFailed,
        TooSlow,
        TooLarge,
        UnsupportedMedia,
        Invalid,
        ChecksumMismatch,
        TooMany,
        Unavailable,
        Internal,
    )
}
