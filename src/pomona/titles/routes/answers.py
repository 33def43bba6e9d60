"""What the title routes share: path and header parameters, the answer to a title write, and
the OpenAPI descriptions of bodies read by hand."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from pomona.errors import PreconditionFailed, Problem
from pomona.errors_http import ProblemOut
from pomona.titles.namespaces import SLUG_MAX
from pomona.titles.schemas import ID_PATTERN, SoftwareTitle
from pomona.titles.values import WriteResult
from pomona.titles.version_strings import pattern as version_pattern
from pomona.titles.version_strings import require_version

TitleIdParam = Annotated[str, Path(description="The title's id", pattern=ID_PATTERN)]


async def _version(
    version: Annotated[
        str,
        Path(
            description="A version string of the title, URL-encoded",
            json_schema_extra=lambda schema: schema.update(pattern=version_pattern()),
        ),
    ],
) -> str:
    # The definitions' own rule, so a refusal names the character (code version_invalid);
    # async, as a plain function would cost a trip to a worker thread on every request.
    return require_version(version)


VersionParam = Annotated[str, Depends(_version)]
Strict = Annotated[bool, Query(description="Reject input that needed any normalisation")]
NamespaceQuery = Annotated[
    str | None,
    Query(
        description="The namespace (publisher) written to: by default the caller's only one "
        "when its token is limited to one, else the default namespace (the main feed)",
        max_length=SLUG_MAX,
    ),
]
IfMatch = Annotated[
    str | None,
    Header(description='Only write if the title is at this revision (its ETag, e.g. "r3")'),
]


# A revision is a database integer (at most 2**31 - 1, ten digits): a longer number cannot name
# one, and converting thousands of digits is refused by Python itself (an error, not a 412).
_REVISION_TAG = re.compile(r"r([0-9]{1,10})")
MAX_REVISION = 2**31 - 1


def revision_of(if_match: str | None) -> int | None:
    """The revision an ``If-Match`` header names; None when it names none, or any."""
    if if_match is None or if_match.strip() == "*":
        return None  # "*" matches any current revision (RFC 9110 section 13.1.1)
    tag = if_match.strip().removeprefix("W/").strip('"')
    # ASCII digits only: str.isdigit() also accepts "²", which int() then refuses.
    found = _REVISION_TAG.fullmatch(tag)
    if found is None or int(found[1]) > MAX_REVISION:
        shown = if_match if len(if_match) <= 40 else if_match[:40] + "..."
        raise PreconditionFailed(
            [
                Problem(
                    "/if-match",
                    f'If-Match must be a title ETag such as "r3", not {shown}; '
                    "read the ETag with GET /api/v1/titles/{id}",
                    "header",
                )
            ],
            code="if_match_invalid",
        )
    return int(found[1])


class Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class TitleWriteOut(Out):
    id: str
    namespace: str
    revision: int
    warnings: list[ProblemOut] = Field(description="What was normalised on the way in")
    definition: SoftwareTitle


def warnings_out(result: WriteResult) -> list[ProblemOut]:
    return [ProblemOut(**w.as_dict()) for w in result.warnings]


def title_out(result: WriteResult) -> TitleWriteOut:
    return TitleWriteOut(
        id=result.title.id,
        namespace=result.namespace,
        revision=result.revision,
        warnings=warnings_out(result),
        definition=result.title,
    )


def json_body(schema: str, description: str) -> dict[str, Any]:
    """``openapi_extra`` for a JSON body a route reads itself (to answer its own errors)."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        }
    }


ZIP_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A zip: patch_archive/<id>.json per title (PatchServer's layout)",
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    }
}
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "A zip archive, a JSON definition or array of definitions, or a multipart "
        "form with any number of 'file' fields (zip or JSON files)",
        "content": {
            "application/zip": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "minItems": 1,
                        }
                    },
                    "required": ["file"],
                }
            },
        },
    }
}
