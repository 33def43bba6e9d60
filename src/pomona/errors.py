"""Problems and the error answer every endpoint shares: ``{"errors": [{"path", "message"}]}``.

A ``path`` is a JSON pointer (RFC 6901) into the part of the request named by ``location``
(``body``, ``query``, ``path`` or ``header``), so a client can tell ``/limit`` in the query string
from a ``limit`` key in the body.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

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

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message, "location": self.location}


class ApiError(Exception):
    """An error the API answers with a 4xx status and the list of problems."""

    def __init__(
        self,
        status: int,
        problems: Sequence[Problem] | str,
        path: str = "",
        location: Location = "body",
    ) -> None:
        if isinstance(problems, str):
            problems = [Problem(path, problems, location)]
        self.status = status
        self.problems = list(problems)
        super().__init__("; ".join(f"{p.path or '/'}: {p.message}" for p in self.problems))


class NotFound(ApiError):
    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(404, message, path)


class Conflict(ApiError):
    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(409, message, path)


class Invalid(ApiError):
    def __init__(self, problems: Sequence[Problem] | str, path: str = "") -> None:
        super().__init__(422, problems, path)


# Response models, so that the OpenAPI document describes the error answer of every endpoint.
class ProblemOut(BaseModel):
    path: str = Field(description="JSON pointer to the offending value; empty for the whole body")
    message: str
    location: Location = Field("body", description="The part of the request the path points into")


class ErrorsOut(BaseModel):
    errors: list[ProblemOut]


ERROR_DESCRIPTIONS = {
    400: "The request could not be read",
    401: "No valid token was given",
    403: "The token does not allow this",
    404: "Not found",
    409: "Conflicts with the current state",
    412: "A precondition (If-Match or a protocol header) did not hold",
    413: "The body is larger than the server accepts",
    415: "Unsupported content type",
    422: "The input is invalid; every problem is listed",
    503: "Something the server needs (the database, the job queue) is unavailable; try again",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` entries for the given error statuses."""
    return {s: {"model": ErrorsOut, "description": ERROR_DESCRIPTIONS[s]} for s in statuses}
