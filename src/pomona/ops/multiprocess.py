"""The directory where the processes of one ``pomona serve`` keep their metrics.

Kept apart from ``metrics.py`` because it must not import prometheus-client: that library fixes
its mode (in memory, or files in ``PROMETHEUS_MULTIPROC_DIR``) when first imported, and worker
processes forked from a parent that imported it first would keep the parent's mode.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"
_OWNED = "POMONA_METRICS_OWNED_DIR"


def prepare() -> Path:
    """Give the worker processes of one server start an empty directory for their values.

    ``PROMETHEUS_MULTIPROC_DIR`` when the environment sets it (a systemd ``RuntimeDirectory``, a
    tmpfs), emptied, since files left by an earlier start would be added to this one's figures;
    otherwise a new temporary directory, removed by :func:`finish`.
    """
    given = os.environ.get(ENV)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for entry in folder.glob("*.db"):
            entry.unlink()
        return folder
    folder = Path(tempfile.mkdtemp(prefix="pomona-metrics-"))
    os.environ[ENV] = str(folder)
    os.environ[_OWNED] = str(folder)
    return folder


def finish() -> None:
    """Remove the directory :func:`prepare` made (never one the environment named)."""
    owned = os.environ.pop(_OWNED, None)
    if owned:
        shutil.rmtree(owned, ignore_errors=True)
