"""The JSON bodies of the package API and the OpenAPI description of its answers."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from pomona.errors_http import ErrorsOut, error_responses
from pomona.packages.values import KEEP, PackageEdit, PackageInfo, Published
from pomona.replication.status import PeerHoldingOut

TAG_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")

Responses = dict[int | str, dict[str, object]]
# Answers of this API that the shared table describes in general terms only.
_SPECIFIC = {
    410: "The upload's partial data is gone",
    416: "No requested range lies inside the file",
    460: "Upload-Checksum does not match the bytes received",
}


def responses(*statuses: int, ok: Responses | None = None) -> Responses:
    """OpenAPI ``responses``: ``ok`` and the error answers with these statuses."""
    found = dict(ok or {})
    found.update(error_responses(*(s for s in statuses if s not in _SPECIFIC)))
    for status in statuses:
        if status in _SPECIFIC:
            found[status] = {"model": ErrorsOut, "description": _SPECIFIC[status]}
    return found


class PackageOut(BaseModel):
    filename: str
    size: int
    sha256: str = Field(description="Identity of the content; also the download ETag")
    md5: str
    sha512: str
    chunkSize: int
    chunkCount: int
    notes: str | None
    tags: list[str] = Field(description="Stage tags such as dev, test, prod")
    uploader: str
    createdAt: datetime
    uploadedAt: datetime
    updatedAt: datetime
    verifiedAt: datetime | None = Field(
        None, description="When the scrub last read the stored bytes back and found them right"
    )
    quarantined: str | None = Field(
        None,
        description="Why the package is not served (its stored bytes changed); null when healthy",
    )
    peers: list[PeerHoldingOut] = Field(
        default_factory=list,
        description="Per peer, whether it has the package (one package's record only)",
    )

    @classmethod
    def of(cls, info: PackageInfo) -> PackageOut:
        return cls(
            filename=info.filename,
            size=info.size,
            sha256=info.sha256,
            md5=info.md5,
            sha512=info.sha512,
            chunkSize=info.chunk_size,
            chunkCount=info.chunk_count,
            notes=info.notes,
            tags=info.tags,
            uploader=info.uploader,
            createdAt=info.created_at,
            uploadedAt=info.uploaded_at,
            updatedAt=info.updated_at,
            verifiedAt=info.verified_at,
            quarantined=info.quarantined,
        )


class PublishedOut(PackageOut):
    outcome: str = Field(
        description="created, replaced, unchanged (same content as stored), or pending (being "
        "stored in S3; the package appears when done)"
    )

    @classmethod
    def published(cls, result: Published) -> PublishedOut:
        return cls(**PackageOut.of(result.package).model_dump(), outcome=result.outcome)


class PackageListOut(BaseModel):
    items: list[PackageOut]
    total: int
    page: int
    perPage: int


class ManifestOut(BaseModel):
    filename: str
    sha256: str
    size: int
    chunkSize: int
    chunks: list[str] = Field(description="SHA-256 of each chunk, in order")


def _tag(value: str) -> str:
    if not TAG_PATTERN.fullmatch(value):
        raise ValueError("a tag has 1 to 64 letters, digits, '.', '_', ':' or '-'")
    return value


# The document states the rule as a pattern; the validator says it in words.
Tag = Annotated[
    str,
    AfterValidator(_tag),
    WithJsonSchema({"type": "string", "pattern": f"^{TAG_PATTERN.pattern}$"}),
]


class PackagePatch(BaseModel):
    """Fields a PATCH may set; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    notes: str | None = Field(None, description="The notes; null clears them")
    tags: list[Tag] = Field(
        default_factory=list, description="The stage tags, replacing the current ones"
    )

    def edit(self) -> PackageEdit:
        """The change this body asks for: only the fields it sets."""
        sent = self.model_fields_set
        return PackageEdit(
            notes=self.notes if "notes" in sent else KEEP,
            tags=list(self.tags) if "tags" in sent else KEEP,
        )
