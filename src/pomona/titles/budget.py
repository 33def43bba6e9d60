"""What reading definitions may cost: one budget per restore, import or remote import, spent
document by document *before* each is parsed, so that an upload is refused as soon as it passes
the budget rather than once it has filled the memory.

A document's size says little about what it costs once parsed: 64 KiB of ``[[],[],...]`` is
21,000 lists, 1.3 MB of Python objects, and a zip of 3,000 such files took 3.5 GB. So a
document costs its bytes plus :data:`VALUE_BYTES` for every JSON value it may hold, counted
from its bytes without parsing them: every value but the first follows a ``[``, ``,`` or
``:``, and every object opens with ``{``; the same characters inside strings only make the
estimate larger. Measured with tracemalloc against what orjson builds: the estimate is 1.1 to
2 times the real cost of hostile shapes (lists, objects, floats, objects in objects) and 2.5
to 5 times that of real definitions (tests/titles/test_budget.py). Every document costs at
least the floor, so that thousands of tiny files (each an ``Incoming``, a validation, a line in
the report) are bounded too.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
from collections.abc import Callable
from dataclasses import dataclass

from pomona.errors import Problem, TooLarge
from pomona.settings import Settings

# What one JSON value costs once parsed, at most: an empty list is 56 bytes, an empty object
# 64, an object of one key 184 for two values (itself and its key), plus 8 for each pointer.
VALUE_BYTES = 80
_OPENERS = (b"[", b"{", b",", b":")


def give_back() -> None:
    """Hand the memory a large read used back to the system, once its documents are let go
    of. Measured: after a refused restore that parsed 250 MB, the process stayed 100 MB larger
    until a full collection (a few objects in cycles kept the allocator's blocks in use) and
    ``malloc_trim`` (glibc keeps freed space for later). Both together took 4 to 12 ms after
    restores of 150 large titles; call it in a worker thread. Without glibc, the collection
    alone."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], object] | None:
    name = ctypes.util.find_library("c")
    try:
        found: Callable[[int], object] | None = getattr(ctypes.CDLL(name), "malloc_trim", None)
    except OSError:
        return None
    return found if name else None


def values_in(data: bytes) -> int:
    """How many JSON values ``data`` can hold at most (object keys included)."""
    return 1 + sum(data.count(c) for c in _OPENERS)


@dataclass(slots=True)
class Budget:
    """What one request may still read: its parsed cost and its number of documents."""

    max_cost: int
    floor: int
    max_documents: int
    spent: int = 0
    documents: int = 0

    @classmethod
    def of(cls, settings: Settings) -> Budget:
        return cls(
            settings.import_max_parsed_bytes,
            settings.import_document_floor_bytes,
            settings.archive_max_members,
        )

    def cost(self, data: bytes) -> int:
        return max(self.floor, len(data) + VALUE_BYTES * values_in(data))

    def least(self, sizes: list[int]) -> int:
        """The least that documents of these sizes will cost, known before reading them."""
        return sum(max(self.floor, size) for size in sizes)

    def check_ahead(self, where: str, sizes: list[int]) -> None:
        """Refuse at once what cannot fit: documents whose sizes alone pass the budget."""
        least = self.least(sizes)
        if self.spent + least > self.max_cost:
            raise self._over(
                where,
                f"its {len(sizes)} files cost at least {least} bytes once read (each at least "
                f"{self.floor}, import_document_floor_bytes)",
            )

    def spend(self, where: str, data: bytes) -> None:
        """Count one document about to be parsed; refuse it, before parsing, if it passes the
        budget. ``where`` locates it (a JSON pointer from the upload's root)."""
        cost = self.cost(data)
        if self.spent + cost > self.max_cost:
            raise self._over(
                where,
                f"{len(data)} bytes holding up to {values_in(data)} JSON values: about {cost} "
                f"bytes once parsed, and {self.spent} are spent already",
            )
        self.spent += cost

    def count(self, where: str, documents: int) -> None:
        """Count ``documents`` more documents (a JSON array counts each of its items)."""
        self.documents += documents
        if self.documents > self.max_documents:
            raise TooLarge(
                [
                    Problem(
                        where,
                        f"more than {self.max_documents} documents in one request "
                        "(archive_max_members); split it",
                    )
                ],
                code="import_too_many_documents",
            )

    def _over(self, where: str, why: str) -> TooLarge:
        return TooLarge(
            [
                Problem(
                    where,
                    f"the request would cost more than {self.max_cost} bytes of memory once "
                    f"parsed (import_max_parsed_bytes): {why}; split it into smaller imports",
                )
            ],
            code="import_too_large",
        )
