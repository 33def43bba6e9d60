"""The steps of one push, against one Jamf Pro server, in order:

1. ``record``: find or create the package record, ``fileName`` equal to the file's name;
2. ``compare``: the JCDS listing; the same bytes there (length and MD5) skip the upload, other
   bytes under the name are deleted first;
3. ``upload``: S3 multipart to JCDS 2.0 (resumed by its upload id), or Jamf Pro's package upload
   endpoint for small files and servers without JCDS 2.0;
4. ``hash``: ``hashType``/``hashValue`` from the hashes the store computed at ingest;
5. ``inventory``: refresh the cloud distribution point's inventory;
6. ``verify``: the JCDS file's length and MD5, the record's file name and hash. Only then done.

Each step is safe to run again, so a push run again after a crash starts over from step 1 and
quickly reaches where it stopped. The state a crash must not lose (the multipart upload's id,
its object key and part size) is saved before the first part is sent.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pomona.errors import Invalid, Problem
from pomona.jamf import jcds, records
from pomona.jamf.client import JamfClient
from pomona.jamf.values import Credentials, HashType, JcdsFile
from pomona.packages.storage import Storage, blob_key
from pomona.packages.values import PackageInfo
from pomona.settings import Settings

Save = Callable[..., Awaitable[None]]
MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Resumable:
    """A multipart upload a previous run started (saved in the push's row)."""

    upload_id: str
    object_key: str
    part_size: int


def unverified(problems: list[Problem]) -> Invalid:
    return Invalid(problems, code="jamf_push_unverified")


class PushRun:
    """One run of a push; ``save`` persists the push's row (step, progress, upload id)."""

    def __init__(
        self,
        jamf: JamfClient,
        settings: Settings,
        storage: Storage,
        package: PackageInfo,
        hash_type: HashType,
        save: Save,
        resumable: Resumable | None,
    ) -> None:
        self.jamf = jamf
        self.settings = settings
        self.storage = storage
        self.package = package
        self.hash_type = hash_type
        self.save = save
        self.resumable = resumable
        self.method = "skip"
        self.renewals = 0
        self.upload_seconds = 0.0
        self.send_seconds = 0.0

    @property
    def hash_value(self) -> str:
        return self.package.md5 if self.hash_type == "MD5" else self.package.sha512

    async def run(self) -> dict[str, Any]:
        name = self.package.filename
        await self.save(step="record")
        record = await records.ensure(self.jamf, name)
        await self.save(step="compare", package_id=str(record["id"]))
        files = await records.jcds_files(self.jamf)
        present = next((f for f in files or [] if f.file_name == name), None)
        if present is not None and not self._same(present):
            await records.delete_file(self.jamf, name)  # other bytes under our name: replace
            present = None
        if present is None:
            await self.save(step="upload", bytes_sent=0)
            small = self.package.size < self.settings.jamf_small_file_mib * MiB
            begun = time.perf_counter()
            if files is None or small:
                await self._upload_endpoint(str(record["id"]))
            else:
                await self._multipart()
            self.upload_seconds = time.perf_counter() - begun
        await self.save(step="hash", method=self.method, bytes_sent=self.package.size)
        record = await records.update(
            self.jamf,
            await records.get(self.jamf, str(record["id"])),
            fileName=name,
            hashType=self.hash_type,
            hashValue=self.hash_value,
        )
        await self.save(step="inventory")
        await records.refresh_inventory(self.jamf, name)
        await self.save(step="verify")
        await self._verify(str(record["id"]), jcds2=files is not None)
        return {
            "packageId": str(record["id"]),
            "method": self.method,
            "credentialRenewals": self.renewals,
            "uploadSeconds": round(self.upload_seconds, 3),
            "partsSeconds": round(self.send_seconds, 3),
        }

    def _same(self, found: JcdsFile) -> bool:
        # UNVERIFIED: that JCDS reports the MD5 of the whole file for multipart uploads too
        # (not the S3 ETag); Jamf Sync compares it so.
        md5 = (found.md5 or "").lower()
        return found.length == self.package.size and md5 == self.package.md5.lower()

    async def _verify(self, package_id: str, *, jcds2: bool) -> None:
        problems = []
        if jcds2:
            found = await records.jcds_file(self.jamf, self.package.filename)
            if found is None:
                problems.append(Problem("/jcds", "the file is not in the JCDS listing"))
            elif not self._same(found):
                problems.append(
                    Problem(
                        "/jcds",
                        f"the JCDS holds {found.length} bytes with MD5 {found.md5}, not "
                        f"{self.package.size} bytes with MD5 {self.package.md5}",
                    )
                )
        record = await records.get(self.jamf, package_id)
        if record.get("fileName") != self.package.filename:
            problems.append(Problem("/record/fileName", f"is {record.get('fileName')!r}"))
        if record.get("hashType") != self.hash_type or (
            str(record.get("hashValue") or "").lower() != self.hash_value.lower()
        ):
            problems.append(
                Problem(
                    "/record/hashValue", f"is {record.get('hashType')} {record.get('hashValue')}"
                )
            )
        if problems:
            raise unverified(
                [
                    Problem(
                        p.path,
                        f"{p.message}; Jamf Pro would answer 'The package could not be "
                        "verified'. Push again to repair it",
                    )
                    for p in problems
                ]
            )

    async def _upload_endpoint(self, package_id: str) -> None:
        """One request to Jamf Pro's package upload endpoint (multipart, field ``file``)."""
        self.method = "upload"
        path, temporary = await asyncio.to_thread(self._local_copy)
        try:
            with path.open("rb") as body:
                await self.jamf.request(
                    "POST",
                    f"/api/v1/packages/{quote(package_id)}/upload",
                    files={"file": (self.package.filename, body, "application/octet-stream")},
                    what="uploading the package",
                )
        finally:
            if temporary:
                path.unlink(missing_ok=True)

    def _local_copy(self) -> tuple[Path, bool]:
        """The stored file's path, or a temporary copy of it (S3 storage); whether temporary."""
        key = blob_key(self.package.sha256)
        local = self.storage.local_path(key)
        if local is not None:
            return local, False
        fd, name = tempfile.mkstemp(prefix="pomona-jamf-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in self.storage.open_range(key):
                    out.write(chunk)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Path(name), True

    async def _credentials(self, path: str) -> Credentials:
        body = await self.jamf.json("POST", path, what="getting JCDS upload credentials")
        return Credentials.from_jamf(body)

    async def _multipart(self) -> None:
        self.method = "multipart"
        loop = asyncio.get_running_loop()
        # Fresh credentials for this run, resumed or not: those of a run that stopped have
        # likely expired, and renewing needs an upload begun in this session (UNVERIFIED).
        first = await self._credentials("/api/v1/jcds/files")

        def renew() -> Credentials:
            call = self._credentials("/api/v1/jcds/renew-credentials")
            return asyncio.run_coroutine_threadsafe(call, loop).result(timeout=120)

        streams = self.settings.jamf_upload_streams
        s3 = jcds.RenewingS3(first, renew, self.settings.jamf_s3_endpoint_url, streams)
        key = first.path + self.package.filename
        upload, have = None, None
        if self.resumable is not None and self.resumable.object_key == key:
            upload = jcds.Multipart(
                first.bucket,
                key,
                self.resumable.upload_id,
                self.resumable.part_size,
                self.package.size,
            )
            have = await asyncio.to_thread(jcds.parts_received, s3, upload)
        if upload is None or have is None:
            part_size = jcds.part_size_for(self.package.size, self.settings.jamf_part_mib)
            upload_id = await asyncio.to_thread(jcds.start, s3, key)
            upload = jcds.Multipart(first.bucket, key, upload_id, part_size, self.package.size)
            have = {}
            await self.save(upload_id=upload_id, object_key=key, part_size=part_size)
        counted = [sum(end - begin for n, begin, end in upload.ranges() if n in have)]
        lock = threading.Lock()

        def sent(size: int) -> None:
            with lock:
                counted[0] += size

        blob = blob_key(self.package.sha256)

        def read(begin: int, end: int) -> bytes:
            return b"".join(self.storage.open_range(blob, begin, end))

        sending = time.perf_counter()
        work = asyncio.ensure_future(
            asyncio.to_thread(jcds.send, s3, upload, have, read, streams, sent)
        )
        while not work.done():
            await asyncio.wait({work}, timeout=1.0)
            await self.save(bytes_sent=counted[0])
        etags = work.result()
        self.send_seconds = time.perf_counter() - sending
        await asyncio.to_thread(jcds.complete, s3, upload, etags)
        self.renewals = s3.renewals
        await self.save(upload_id=None, object_key=None, part_size=None)
