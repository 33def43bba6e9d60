"""The C allocator's settings for a long-running server process.

glibc gives every thread that allocates an arena of its own (up to eight per core) and returns
little of them: in the 10-minute soak bench a worker, whose threads are the event loop's and the
hashing, archive and database pools, grew 36% with the default and stayed flat (-0.7%) with two
arenas. The environment variable ``MALLOC_ARENA_MAX`` is read only when a process starts, and
granian forks its workers from a process that has started long before, so the limit is set here,
at run time, with ``mallopt``, before the worker starts its threads.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_ARENA_MAX = -8  # glibc's malloc.h
ARENAS = 2


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Limit the allocator to ``arenas`` arenas; False where there is no glibc (macOS, musl)
    or the administrator chose a value of their own in ``MALLOC_ARENA_MAX``."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))
