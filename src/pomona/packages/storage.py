"""Where package bytes live: a small ``Storage`` protocol, a local directory and S3.

Keys are relative, ``/``-separated names such as ``blobs/ab/<sha256>`` (:func:`blob_key`).
Every write becomes visible whole or not at all: the local backend writes beside the target and
renames; S3 shows an object only once its (multipart) upload completes. Methods are synchronous
(they are called in a worker thread by the web process and directly by background tasks).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pomona.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

READ_CHUNK = 256 * 1024


def blob_key(sha256: str) -> str:
    """Where the content with this SHA-256 is stored."""
    return f"blobs/{sha256[:2]}/{sha256}"


def build_storage(settings: Settings) -> Storage:
    """The backend ``package_storage`` names."""
    if settings.package_storage == "s3":
        if not settings.s3_bucket:
            raise ValueError("package_storage is s3 but s3_bucket is not set")
        return s3_storage(settings, settings.s3_bucket, settings.s3_prefix)
    return LocalStorage(settings.resolved_package_dir)


def s3_storage(settings: Settings, bucket: str, prefix: str = "") -> S3Storage:
    """A bucket reached with the package store's S3 credentials, endpoint and region."""
    secret = settings.s3_secret_access_key
    return S3Storage(
        bucket,
        prefix=prefix,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret else None,
    )


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    modified: datetime


@runtime_checkable
class Storage(Protocol):
    """What the package store needs from a place that keeps bytes."""

    def put_file(self, key: str, path: Path) -> None:
        """Store the file at ``path`` under ``key`` and remove ``path`` (moved, never copied
        when the backend can rename)."""

    def put_stream(self, key: str, chunks: Iterable[bytes]) -> None:
        """Store the bytes of ``chunks`` under ``key``; visible only once complete."""

    def open_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes ``start`` up to ``end`` (exclusive; ``None``: the end), in chunks."""

    def stat(self, key: str) -> ObjectInfo | None:
        """Size and modification time, or ``None`` when there is no such object."""

    def delete(self, key: str) -> None:
        """Remove ``key``; no error when it does not exist."""

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``."""

    def local_path(self, key: str) -> Path | None:
        """A path the web server can send without copying, when the backend has one."""

    def presigned_url(self, key: str, expires: int) -> str | None:
        """A URL that lets anyone fetch ``key`` for ``expires`` seconds, when supported."""


def _check_key(key: str) -> None:
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") for p in parts) or "\\" in key or "\x00" in key:
        raise ValueError(f"invalid storage key {key!r}")


class LocalStorage:
    """A directory. Temporary files live in ``<root>/.tmp`` so that publishing is a rename."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.tmp = self.root / ".tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        _check_key(key)
        return self.root / key

    def put_file(self, key: str, path: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            # Another file system: copy beside the target, then rename, so it is never half there.
            temporary = self.tmp / f"{uuid.uuid4().hex}.part"
            shutil.copyfile(path, temporary)
            os.replace(temporary, target)
            path.unlink()
        _fsync_dir(target.parent)

    def put_stream(self, key: str, chunks: Iterable[bytes]) -> None:
        temporary = self.tmp / f"{uuid.uuid4().hex}.part"
        try:
            with temporary.open("wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            self.put_file(key, temporary)
        finally:
            temporary.unlink(missing_ok=True)

    def open_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        with self._path(key).open("rb") as source:
            source.seek(start)
            remaining = None if end is None else end - start
            while remaining is None or remaining > 0:
                chunk = source.read(READ_CHUNK if remaining is None else min(READ_CHUNK, remaining))
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            found = self._path(key).stat()
        except FileNotFoundError:
            return None
        return ObjectInfo(key, found.st_size, datetime.fromtimestamp(found.st_mtime, UTC))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        for directory, dirnames, filenames in os.walk(self.root):
            if Path(directory) == self.root:
                dirnames[:] = [d for d in dirnames if d != ".tmp"]
            for name in filenames:
                key = (Path(directory) / name).relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    info = self.stat(key)
                    if info is not None:
                        yield info

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def presigned_url(self, key: str, expires: int) -> str | None:
        return None


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class _IterReader(io.RawIOBase):
    """A read-only file over an iterator of byte strings, for boto3's ``upload_fileobj``."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class S3Storage:
    """An S3-compatible bucket (AWS, MinIO, Ceph, moto...), optionally under a key prefix.

    Large objects go up as multipart uploads; S3 shows an object only once the upload completes,
    so a crash never leaves a visible half object (abandoned parts are for the bucket's
    lifecycle rule ``AbortIncompleteMultipartUpload`` to remove).
    """

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        client: S3Client | None = None,
    ) -> None:
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "s3",
                endpoint_url=endpoint_url,
                region_name=region,
                aws_access_key_id=access_key_id,
                aws_secret_access_key=secret_access_key,
                config=Config(retries={"max_attempts": 5, "mode": "standard"}),
            )
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def _key(self, key: str) -> str:
        _check_key(key)
        return self.prefix + key

    def put_file(self, key: str, path: Path) -> None:
        self.client.upload_file(str(path), self.bucket, self._key(key))
        path.unlink(missing_ok=True)

    def put_stream(self, key: str, chunks: Iterable[bytes]) -> None:
        reader = io.BufferedReader(_IterReader(chunks), buffer_size=READ_CHUNK)
        self.client.upload_fileobj(reader, self.bucket, self._key(key))

    def open_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        if end is not None and end <= start:
            return
        span = f"bytes={start}-" if end is None else f"bytes={start}-{end - 1}"
        answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key), Range=span)
        body = answer["Body"]
        try:
            yield from body.iter_chunks(READ_CHUNK)
        finally:
            body.close()

    def stat(self, key: str) -> ObjectInfo | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return ObjectInfo(key, head["ContentLength"], head["LastModified"].astimezone(UTC))

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield ObjectInfo(
                    item["Key"][len(self.prefix) :],
                    item["Size"],
                    item["LastModified"].astimezone(UTC),
                )

    def local_path(self, key: str) -> Path | None:
        return None

    def presigned_url(self, key: str, expires: int) -> str | None:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._key(key)}, ExpiresIn=expires
        )
