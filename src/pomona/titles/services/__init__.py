"""The title service, in parts by what each does: reads, writes of titles and versions,
lifecycle (state, order, history, rollback), imports (restores, imports, exports) and the
namespaces (publishers) titles belong to.

Every write transaction starts by bumping ``feed_state.generation``. That one row update is the
write lock on every engine (SQLite's writer lock, a row lock on PostgreSQL and MySQL), so two
edits of one title never interleave their read-modify-write, and it tells other processes that
their rendered feed is stale. Validation happens before it, in a worker thread.
"""

from __future__ import annotations

from pomona.titles.services.imports import TitleImports
from pomona.titles.services.lifecycle import TitleLifecycle
from pomona.titles.services.namespaces import TitleNamespaces


class TitleService(TitleLifecycle, TitleImports, TitleNamespaces):
    """Every operation on titles; built once per process by ``pomona.container``."""


__all__ = ["TitleService"]
