"""Leases on resumable uploads: one request at a time appends to an upload, across processes.

Web processes behind a load balancer share the database and the data directory, not memory, so
the lease is a pair of columns on the upload's row (holder, expiry), claimed by a conditional
UPDATE that only one claimant can win on every engine. The holder renews it while the piece is
being received; a holder that dies leaves it to run out (``LEASE_SECONDS``), after which any
process may claim it. Releasing it records the new offset in the same UPDATE, so whoever reads
an upload with no live lease reads an offset that matches its partial file.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import anyio
from sqlalchemy import ColumnElement, CursorResult, and_, or_, select, update
from sqlalchemy.sql import Update

from pomona.db import Database, utcnow
from pomona.errors import Conflict, NotFound
from pomona.packages.models import PackageUpload

LEASE_SECONDS = 30.0
# How often a waiting request looks again: short, since the lease is usually held for a
# single PATCH and the waiter is a client resuming right after it.
POLL_SECONDS = 0.05


def upload_not_found(upload_id: str) -> NotFound:
    return NotFound(
        f"no upload '{upload_id}' (finished, terminated or expired)", code="upload_not_found"
    )


@dataclass(slots=True)
class Lease:
    """A claimed upload: its row as claimed, and the offset to record on release."""

    upload_id: str
    holder: str
    row: PackageUpload
    offset: int | None = None
    lost: bool = False  # the renewal found the lease gone (the upload was dropped, or stalled)
    released: bool = False  # the release recorded the offset


def upload_where(upload_id: str, owner: str | None) -> ColumnElement[bool]:
    """The upload's row, if ``owner`` (when given) created it: to anyone else it does not
    exist, so an id seen in a log or a shared URL tells nothing and opens nothing."""
    where = PackageUpload.upload_id == upload_id
    return where if owner is None else and_(where, PackageUpload.uploader == owner)


class UploadLeases:
    def __init__(self, db: Database, *, seconds: float = LEASE_SECONDS) -> None:
        self.db = db
        self.seconds = seconds

    def _expiry(self) -> datetime:
        return utcnow() + timedelta(seconds=self.seconds)

    async def _execute(self, statement: Update) -> int:
        """Run one UPDATE in its own transaction; the number of rows it changed."""
        async with self.db.transaction() as session:
            result = await session.execute(statement.execution_options(synchronize_session=False))
        return cast(CursorResult[Any], result).rowcount

    async def claim(self, upload_id: str, wait: float, owner: str | None = None) -> Lease:
        """The upload's lease, waiting up to ``wait`` seconds for its holder to release it;
        with ``owner``, only an upload of that owner's (:func:`upload_where`)."""
        holder = uuid.uuid4().hex
        deadline = time.monotonic() + wait
        where = upload_where(upload_id, owner)
        while True:
            now = utcnow()
            free = or_(PackageUpload.lease_holder.is_(None), PackageUpload.lease_expires < now)
            claimed = update(PackageUpload).where(where, free)
            if await self._execute(
                claimed.values(lease_holder=holder, lease_expires=self._expiry())
            ):
                async with self.db.sessions() as session:
                    row = await session.scalar(select(PackageUpload).where(where))
                if row is None:  # dropped in between
                    raise upload_not_found(upload_id)
                return Lease(upload_id, holder, row)
            async with self.db.sessions() as session:
                if await session.scalar(select(PackageUpload.pk).where(where)) is None:
                    raise upload_not_found(upload_id)
            if time.monotonic() > deadline:
                raise Conflict(
                    "another request is still writing to this upload", code="upload_busy"
                )
            await asyncio.sleep(POLL_SECONDS)

    async def settled(self, upload_id: str, wait: float, owner: str | None = None) -> PackageUpload:
        """The upload's row once no request is writing to it (or after ``wait`` seconds).

        A client resuming after a dropped connection may ask before the server has seen the
        drop; answering after that write ends avoids sending it a stale offset.
        """
        deadline = time.monotonic() + wait
        while True:
            async with self.db.sessions() as session:
                row = await session.scalar(
                    select(PackageUpload).where(upload_where(upload_id, owner))
                )
            if row is None:
                raise upload_not_found(upload_id)
            live = row.lease_holder is not None and (
                row.lease_expires is None or row.lease_expires >= utcnow()
            )
            if not live or time.monotonic() > deadline:
                return row
            await asyncio.sleep(POLL_SECONDS)

    async def _renew(self, lease: Lease) -> None:
        mine = (
            PackageUpload.upload_id == lease.upload_id,
            PackageUpload.lease_holder == lease.holder,
        )
        while True:
            await asyncio.sleep(self.seconds / 3)
            renewed = update(PackageUpload).where(*mine).values(lease_expires=self._expiry())
            if not await self._execute(renewed):
                lease.lost = True
                return

    async def release(self, lease: Lease) -> None:
        """Give the lease up, recording ``lease.offset`` when set; ``lease.released`` tells
        whether it was still ours to give (the upload may have been dropped meanwhile)."""
        values: dict[str, Any] = {"lease_holder": None, "lease_expires": None}
        if lease.offset is not None:
            values.update(offset=lease.offset, updated_at=utcnow())
        released = (
            update(PackageUpload)
            .where(
                PackageUpload.upload_id == lease.upload_id,
                PackageUpload.lease_holder == lease.holder,
            )
            .values(**values)
        )
        lease.released = bool(await self._execute(released))

    @contextlib.asynccontextmanager
    async def hold(
        self, upload_id: str, wait: float, owner: str | None = None
    ) -> AsyncIterator[Lease]:
        """Claim the upload, keep the lease renewed while the block runs, then release it."""
        lease = await self.claim(upload_id, wait, owner)
        renewing = asyncio.create_task(self._renew(lease))
        try:
            yield lease
        finally:
            renewing.cancel()
            # Even when the request is cancelled: a lease left behind would hold the upload
            # up for others until it runs out.
            with anyio.CancelScope(shield=True):
                with contextlib.suppress(asyncio.CancelledError):
                    await renewing
                await self.release(lease)
