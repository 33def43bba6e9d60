"""Uploading to the JCDS 2.0 bucket: S3 multipart with temporary credentials renewed before they
expire, several parts at once, resumable from the upload id alone.

Everything here blocks (boto3) and runs in worker threads; the push that calls it runs on an
event loop and hands in ``renew``, which asks Jamf Pro for fresh credentials.

boto3 (the ``s3`` extra) is imported when an upload starts, not with the module, so a server
installed without it runs everything else.

Resuming needs no record of the parts sent: S3 keeps the parts of an unfinished multipart
upload, and ``ListParts`` says which arrived. A push stopped at any moment therefore sends again
only the parts that were in flight, at most one per stream.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from pomona.errors import Unavailable
from pomona.jamf.values import Credentials

if TYPE_CHECKING:
    from botocore.exceptions import ClientError
    from mypy_boto3_s3 import S3Client

MiB = 1024 * 1024
MAX_PARTS = 10_000
# S3 error codes that mean "these credentials no longer work": renew and send again.
EXPIRED = {
    "ExpiredToken",
    "InvalidAccessKeyId",
    "InvalidToken",
    "TokenRefreshRequired",
    "RequestExpired",
    "AccessDenied",
}
ATTEMPTS = 4  # per part: credentials renewed on expiry, other failures tried again
# Each part carries its CRC32, declared when the upload begins and listed again when it is
# completed, as boto3's own transfers do: S3 checks every part, and completes the upload without
# working out checksums of its own.
CHECKSUM: Final = "CRC32"
Part = dict[str, str]  # ETag and ChecksumCRC32, as S3 answered them


def part_size_for(size: int, configured_mib: int) -> int:
    """The configured part size, grown (by whole MiB) when the file would need more than
    10,000 parts."""
    needed = math.ceil(size / MAX_PARTS / MiB) * MiB
    return max(configured_mib * MiB, needed)


class RenewingS3:
    """An S3 client on the current temporary credentials, renewed before they expire (and at
    once when S3 says they have). Shared by the upload's threads."""

    def __init__(
        self,
        first: Credentials,
        renew: Callable[[], Credentials],
        endpoint: str | None,
        streams: int,
    ) -> None:
        self._renew = renew
        self._endpoint = endpoint
        self._streams = streams
        self._lock = threading.Lock()
        self._current = first
        self._client = self._build(first)
        self.renewals = 0

    def _build(self, creds: Credentials) -> S3Client:
        import boto3
        from botocore.config import Config

        client: S3Client = boto3.client(
            "s3",
            endpoint_url=self._endpoint,
            region_name=creds.region,
            aws_access_key_id=creds.access_key,
            aws_secret_access_key=creds.secret,
            aws_session_token=creds.token,
            config=Config(
                max_pool_connections=self._streams + 2,
                retries={"max_attempts": 1, "mode": "standard"},
                connect_timeout=30,
                read_timeout=300,
            ),
        )
        return client

    @property
    def credentials(self) -> Credentials:
        return self._current

    def client(self) -> tuple[S3Client, Credentials]:
        with self._lock:
            if not self._current.fresh(time.time()):
                self._swap()
            return self._client, self._current

    def refused(self, used: Credentials) -> None:
        """S3 refused ``used``: renew, unless another thread already has."""
        with self._lock:
            if self._current is used:
                self._swap()

    def _swap(self) -> None:
        self._current = self._renew()
        self._client = self._build(self._current)
        self.renewals += 1


@dataclass(frozen=True, slots=True)
class Multipart:
    bucket: str
    key: str
    upload_id: str
    part_size: int
    size: int

    def ranges(self) -> list[tuple[int, int, int]]:
        """(part number, start, end) of every part; the last may be short."""
        count = max(1, math.ceil(self.size / self.part_size))
        return [
            (n + 1, n * self.part_size, min(self.size, (n + 1) * self.part_size))
            for n in range(count)
        ]


def _code(exc: ClientError) -> str:  # ClientError: only when boto3 is there
    return str(exc.response.get("Error", {}).get("Code", ""))


def _failed(what: str, exc: Exception) -> Unavailable:
    return Unavailable(
        f"the JCDS bucket refused {what}: {exc}; the push resumes where it stopped when run again",
        code="jcds_upload_failed",
    )


def _with_credentials(s3: RenewingS3, what: str, call: Callable[[S3Client], Any]) -> Any:
    """``call`` with a client on fresh credentials; renewed and tried again when S3 refuses
    them, tried again once more on any other failure (as Jamf Sync does)."""
    from botocore.exceptions import BotoCoreError, ClientError

    others = 0
    for _attempt in range(ATTEMPTS):
        client, used = s3.client()
        try:
            return call(client)
        except ClientError as exc:
            if _code(exc) in EXPIRED:
                s3.refused(used)
                continue
            if _code(exc) == "NoSuchUpload" or others:
                raise
            others += 1
        except BotoCoreError as exc:
            if others:
                raise _failed(what, exc) from None
            others += 1
    raise _failed(what, RuntimeError("credentials kept being refused"))


def start(s3: RenewingS3, key: str) -> str:
    creds = s3.credentials
    answer = _with_credentials(
        s3,
        "starting the upload",
        lambda c: c.create_multipart_upload(
            Bucket=creds.bucket, Key=key, ChecksumAlgorithm=CHECKSUM
        ),
    )
    return str(answer["UploadId"])


def _part(answer: Any) -> Part:
    found = {"ETag": str(answer["ETag"])}
    if answer.get("ChecksumCRC32"):
        found["ChecksumCRC32"] = str(answer["ChecksumCRC32"])
    return found


def parts_received(s3: RenewingS3, upload: Multipart) -> dict[int, Part] | None:
    """The parts S3 holds of ``upload`` by number (ETag and checksum), or None when the upload is
    gone (completed, aborted, or expired by a lifecycle rule)."""
    from botocore.exceptions import ClientError

    found: dict[int, Part] = {}
    marker = 0
    while True:

        def page(client: S3Client, after: int = marker) -> Any:
            return client.list_parts(
                Bucket=upload.bucket,
                Key=upload.key,
                UploadId=upload.upload_id,
                PartNumberMarker=after,
            )

        try:
            answer = _with_credentials(s3, "listing the parts sent", page)
        except ClientError as exc:
            if _code(exc) in ("NoSuchUpload", "NoSuchKey", "404"):
                return None
            raise _failed("listing the parts sent", exc) from None
        for part in answer.get("Parts", []):
            expected = min(
                upload.part_size, upload.size - (part["PartNumber"] - 1) * upload.part_size
            )
            if part["Size"] == expected:  # a part of another size is sent again
                found[part["PartNumber"]] = _part(part)
        if not answer.get("IsTruncated"):
            return found
        marker = int(answer["NextPartNumberMarker"])


def send(
    s3: RenewingS3,
    upload: Multipart,
    have: dict[int, Part],
    read: Callable[[int, int], bytes],
    streams: int,
    sent: Callable[[int], None],
) -> dict[int, Part]:
    """Send every part not in ``have``, ``streams`` at once; every part's ETag and checksum."""
    from botocore.exceptions import ClientError

    etags = dict(have)
    lock = threading.Lock()

    def one(number: int, begin: int, end: int) -> None:
        body = read(begin, end)

        def put(client: S3Client) -> Any:
            return client.upload_part(
                Bucket=upload.bucket,
                Key=upload.key,
                UploadId=upload.upload_id,
                PartNumber=number,
                Body=body,
                ChecksumAlgorithm=CHECKSUM,
            )

        try:
            answer = _with_credentials(s3, f"part {number}", put)
        except ClientError as exc:
            raise _failed(f"part {number}", exc) from None
        with lock:
            etags[number] = _part(answer)
        sent(end - begin)

    todo = [r for r in upload.ranges() if r[0] not in have]
    with ThreadPoolExecutor(max_workers=streams, thread_name_prefix="jcds") as pool:
        futures = [pool.submit(one, *r) for r in todo]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in done:
            error = future.exception()
            if error is not None:
                for other in futures:
                    other.cancel()
                raise error
    return etags


def complete(s3: RenewingS3, upload: Multipart, etags: dict[int, Part]) -> None:
    from botocore.exceptions import ClientError

    parts = [{"PartNumber": n, **etags[n]} for n in sorted(etags)]
    try:
        _with_credentials(
            s3,
            "completing the upload",
            lambda c: c.complete_multipart_upload(
                Bucket=upload.bucket,
                Key=upload.key,
                UploadId=upload.upload_id,
                MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
            ),
        )
    except ClientError as exc:
        raise _failed("completing the upload", exc) from None
