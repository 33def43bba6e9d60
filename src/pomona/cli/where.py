"""Which database a server command uses, said out loud.

A newcomer who runs ``pomona token create`` in another directory gets a second, empty
``./pomona-data`` and a token the server has never heard of; saying where each command wrote, and
that it was new, points at the cause at once.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from pomona.settings import Settings


def is_new(settings: Settings) -> bool:
    """True when the command is about to create the embedded SQLite database."""
    if not settings.is_sqlite:
        return False
    found = make_url(settings.resolved_database_url).database
    return bool(found) and not Path(str(found)).exists()


def database(settings: Settings) -> str:
    """The database, as a person would name it: a file, or a URL without its password."""
    url = make_url(settings.resolved_database_url)
    return str(url.database) if settings.is_sqlite else url.render_as_string(hide_password=True)


def migrated(settings: Settings, new: bool) -> str:
    if new:
        return f"created a new database at {database(settings)}"
    return f"the database at {database(settings)} is up to date"


def new_database_warning(settings: Settings) -> str:
    return (
        f"note: there was no database here, so this created {database(settings)}. If your "
        "server runs with another data directory, it does not know this token: run the command "
        "where the server runs, or pass --data-dir (or POMONA_DATA_DIR, or --config)"
    )
