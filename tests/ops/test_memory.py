"""The allocator limit a server process sets for itself (ops/memory.py)."""

from __future__ import annotations

import ctypes.util
import os
import subprocess
import sys

import pytest

from pomona.ops import memory

GLIBC = sys.platform == "linux" and "libc.so.6" in (ctypes.util.find_library("c") or "")


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_a_process_limits_its_malloc_arenas() -> None:
    # In a process of its own: the limit holds for the rest of a process's life.
    code = "from pomona.ops import memory; print(memory.limit_arenas())"
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == "True"


def test_an_administrators_own_value_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert memory.limit_arenas() is False
