"""The events the titles domain emits, one per kind of title write.

Payloads are thin (ids, names, the revision and the versions concerned): a receiver that wants
the definition fetches it from the API or the feed with the revision it was told of.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from pomona.events.types import EventType


class TitleChange(BaseModel):
    """A title as one of its revisions left it."""

    id: str = Field(description="The title's id, as in the Jamf feed.")
    name: str = Field(description="The title's display name.")
    namespace: str = Field(description="The publisher namespace; `default` for the main feed.")
    revision: int = Field(description="The revision this change made (the title's history).")
    currentVersion: str | None = Field(description="The newest version; null once deleted.")
    version: str | None = Field(
        None, description="The version this change is about (version events); else null."
    )
    versions: int = Field(description="How many versions the title has after the change.")
    summary: str = Field(description="What changed, in one line (the revision's summary).")


def _title(name: str, summary: str) -> EventType[TitleChange]:
    return EventType(f"title.{name}", summary, TitleChange)


CREATED = _title("created", "A title was created (by the API, a restore or an import).")
UPDATED = _title("updated", "A title's definition was replaced, reordered or imported again.")
VERSION_ADDED = _title("version_added", "A version was added to a title.")
VERSION_EDITED = _title("version_edited", "A version of a title was edited.")
VERSION_DELETED = _title("version_deleted", "A version was deleted from a title.")
ENABLED = _title("enabled", "A title, or one of its versions (`version`), was enabled.")
DISABLED = _title("disabled", "A title, or one of its versions (`version`), was disabled.")
DELETED = _title("deleted", "A title was deleted (its history is kept).")
ROLLED_BACK = _title("rolled_back", "A title was rolled back to an earlier revision.")
RESTORED = _title("restored", "A title was written by a restore from a backup.")

# The revision actions of titles/services and the event each emits.
BY_ACTION: dict[str, EventType[TitleChange]] = {
    "create": CREATED,
    "replace": UPDATED,
    "reorder": UPDATED,
    "sort": UPDATED,
    "import": UPDATED,
    "add-version": VERSION_ADDED,
    "edit-version": VERSION_EDITED,
    "delete-version": VERSION_DELETED,
    "enable": ENABLED,
    "enable-version": ENABLED,
    "disable": DISABLED,
    "disable-version": DISABLED,
    "rollback": ROLLED_BACK,
    "restore": RESTORED,
    "delete": DELETED,
}

TYPES = (
    CREATED,
    UPDATED,
    VERSION_ADDED,
    VERSION_EDITED,
    VERSION_DELETED,
    ENABLED,
    DISABLED,
    DELETED,
    ROLLED_BACK,
    RESTORED,
)
