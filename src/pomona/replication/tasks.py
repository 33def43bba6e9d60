"""The replication domain's queue tasks: everything that talks to a peer.

- ``replication.announce``: after a package change here, tell the peers that can be reached;
- ``replication.pull``: read one peer's change log and apply it (fetching what it names);
- ``replication.poll``: the same on an interval, rescheduling itself (one chain per peer: a
  chain whose token is no longer the peer's stops);
- ``replication.join`` and ``replication.rotate``: jobs a person follows; ``replication.unpair``
  tells a peer the pairing ended.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from huey.api import Task
from sqlalchemy import update

from pomona.audit.service import Who
from pomona.queue.jobs import params_of
from pomona.queue.models import Job
from pomona.queue.service import Queue, QueuedTask
from pomona.replication.models import Peer
from pomona.replication.transfer import hold_for

if TYPE_CHECKING:
    from pomona.container import Services

log = logging.getLogger("pomona.replication")

JOIN = "replication.join"
ROTATE = "replication.rotate"


@dataclass(frozen=True, slots=True)
class ReplicationTasks:
    announce: QueuedTask[[]]
    pull: QueuedTask[[str]]
    poll: QueuedTask[[str, str]]
    join: QueuedTask[[str]]
    rotate: QueuedTask[[str]]
    unpair: QueuedTask[[str]]


def register(queue: Queue, services: Callable[[], Services]) -> ReplicationTasks:
    def announce_changes() -> dict[str, Any]:
        return queue.runtime.run(services().replication.announce())

    def pull_changes(peer_id: str) -> dict[str, Any]:
        found = services()
        result = queue.runtime.run(found.replication.receiver.pull(peer_id))
        if result.get("held"):
            # Another pull holds the peer, or held it when its process died: look again once
            # the hold has run out, so a change notified meanwhile is not left for the poll.
            pull.later(hold_for(found.settings).total_seconds(), peer_id)
        return result

    async def start_polling(peer_id: str) -> None:
        """Start (or restart) the peer's poll chain; any older chain stops at its next run."""
        token = uuid.uuid4().hex
        found = services()
        async with found.db.transaction() as session:
            await session.execute(
                update(Peer).where(Peer.peer_id == peer_id).values(poll_token=token)
            )
        poll.later(found.settings.replication_poll_seconds, peer_id, token)

    def poll_peer(peer_id: str, token: str) -> None:
        found = services()
        try:
            peer = queue.runtime.run(found.replication.peers.row(peer_id))
        except Exception:
            return  # forgotten
        if peer.state != "paired" or peer.poll_token != token:
            return  # unpaired, or a newer chain runs
        try:
            queue.runtime.run(found.replication.receiver.pull(peer_id))
        except Exception as exc:  # logged; the chain goes on
            log.warning("polling %s failed: %s", peer.url, exc)
        poll.later(found.settings.replication_poll_seconds, peer_id, token)

    def join_peer(job_id: str, task: Task = None) -> None:
        found = services()

        async def work(job: Job) -> dict[str, Any]:
            who = Who.of(job.actor, job.client)
            joined = await found.replication.join(str(params_of(job)["invitation"]), who)
            await start_polling(joined.peer_id)
            return {"peerId": joined.peer_id, "name": joined.name, "url": joined.url}

        queue.runtime.run(found.jobs.run(job_id, work, last_attempt=task.retries == 0))

    def rotate_key(job_id: str, task: Task = None) -> None:
        found = services()

        async def work(job: Job) -> dict[str, Any]:
            who = Who.of(job.actor, job.client)
            rotated = await found.replication.rotate(str(params_of(job)["peerId"]), who)
            return {"peerId": rotated.peer_id, "keyRotatedAt": rotated.key_rotated_at.isoformat()}

        queue.runtime.run(found.jobs.run(job_id, work, last_attempt=task.retries == 0))

    def unpair_peer(peer_id: str) -> None:
        queue.runtime.run(services().replication.tell_unpaired(peer_id))

    def kick_polls() -> None:
        """Start the chain of a paired peer that has none (a site upgraded, or a chain lost)."""
        found = services()
        for peer in queue.runtime.run(found.replication.peers.paired()):
            if peer.poll_token is None:
                queue.runtime.run(start_polling(peer.peer_id))

    announce = queue.task("replication.announce", announce_changes)
    pull = queue.task("replication.pull", pull_changes)
    poll = queue.task("replication.poll", poll_peer)
    join = queue.task_with_context(JOIN, join_peer)
    rotate = queue.task_with_context(ROTATE, rotate_key)
    unpair = queue.task("replication.unpair", unpair_peer)
    queue.periodic("replication.poll.kick", 1 / 60, kick_polls)
    return ReplicationTasks(announce, pull, poll, join, rotate, unpair)
