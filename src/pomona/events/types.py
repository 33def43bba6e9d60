"""Event types: a stable dotted name, a sentence, and the payload's model.

Each domain declares the types it emits in its own ``events.py`` (``titles/events.py``,
``packages/events.py``, ...) as :class:`EventType` instances; :mod:`pomona.events.catalog`
gathers them, serves their JSON Schemas and documents them. The payload model is the contract
receivers build on: add fields, never rename or remove one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

P = TypeVar("P", bound=BaseModel)

_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


@dataclass(frozen=True, slots=True)
class EventType(Generic[P]):
    """``name`` is ``<domain>.<what_happened>`` (``title.version_added``)."""

    name: str
    summary: str
    payload: type[P]

    def __post_init__(self) -> None:
        if not _NAME.match(self.name) or len(self.name) > 64:
            raise ValueError(f"event type {self.name!r} is not <domain>.<snake_case>")

    @property
    def domain(self) -> str:
        return self.name.split(".", 1)[0]

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of this type's ``data``."""
        return self.payload.model_json_schema()


__all__ = ["EventType"]
