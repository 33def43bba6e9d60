"""The values the Jamf Pro companion hands out and takes in, each defined here and nowhere else."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

HashType = Literal["SHA_512", "MD5"]
PushStatus = Literal["queued", "running", "succeeded", "failed"]
# The steps of a push, in order; each is persisted as it starts.
STEPS = ("queued", "record", "compare", "upload", "hash", "inventory", "verify", "done")


@dataclass(frozen=True, slots=True)
class Credentials:
    """Temporary S3 credentials for the JCDS bucket, as Jamf Pro hands them out."""

    access_key: str
    secret: str
    token: str
    region: str
    expiration: float  # epoch seconds
    bucket: str
    path: str  # the key prefix; the object's key is path + file name
    issued: float = field(default_factory=time.time)

    @classmethod
    def from_jamf(cls, body: dict[str, Any]) -> Credentials:
        return cls(
            body["accessKeyID"],
            body["secretAccessKey"],
            body["sessionToken"],
            body["region"],
            float(body["expiration"]),
            body["bucketName"],
            body.get("path") or "",
        )

    def fresh(self, now: float) -> bool:
        """Renewed before they run out: with 5 minutes left (as Jamf Sync does), or half their
        life when they are short-lived."""
        margin = min(300.0, max(1.0, (self.expiration - self.issued) / 2))
        return now < self.expiration - margin


@dataclass(frozen=True, slots=True)
class JcdsFile:
    file_name: str
    length: int
    md5: str | None
    sha3: str | None

    @classmethod
    def from_jamf(cls, body: dict[str, Any]) -> JcdsFile:
        return cls(
            body["fileName"], int(body.get("length") or 0), body.get("md5"), body.get("sha3")
        )


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    name: str
    url: str
    auth: Literal["client", "user"]
    principal: str
    hash_type: HashType
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ConnectionEdit:
    """A change to a connection: None leaves a field as it is."""

    url: str | None = None
    auth: Literal["client", "user"] | None = None
    principal: str | None = None
    secret: str | None = None
    hash_type: HashType | None = None


@dataclass(frozen=True, slots=True)
class PushInfo:
    push_id: str
    job_id: str
    connection: str
    filename: str
    sha256: str
    size: int
    status: PushStatus
    step: str
    bytes_sent: int
    package_id: str | None
    method: str | None
    rule: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class RuleInfo:
    tag: str
    connection: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FeatureCheck:
    feature: str
    privileges: list[str]
    missing: list[str]


@dataclass(frozen=True, slots=True)
class CheckReport:
    version: str
    privileges_known: bool
    features: list[FeatureCheck]

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "privilegesKnown": self.privileges_known,
            "features": [
                {"feature": f.feature, "privileges": f.privileges, "missing": f.missing}
                for f in self.features
            ],
        }
