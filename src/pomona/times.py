"""Times as Pomona writes and reads them: the Jamf format (RFC 3339 in UTC, whole seconds) out,
and ISO-8601 in, with the sloppy layouts real patch definitions use repaired."""

from __future__ import annotations

import re
from datetime import UTC, datetime

JAMF_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# An RFC 3339 UTC time: only its fraction of a second is dropped, which needs no warning.
_UTC_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|\+00:00)$")
_SLOPPY_DATE = re.compile(
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:[.,]\d+)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?\s*$"
)


def format_time(moment: datetime) -> str:
    """``JAMF_TIME_FORMAT`` in UTC; the year always has four digits (``strftime`` may not)."""
    utc = moment.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"
    )


def parse_time(value: str) -> tuple[datetime, bool] | None:
    """Parse an ISO-8601 time; the flag says it needed repair. ``None`` when it is not a time.

    Only an RFC 3339 time in UTC needs no repair (its fraction of a second is dropped quietly);
    a time without a zone is read as UTC, an offset is converted to UTC, and a sloppy layout
    such as ``2017-9-12T14:19:38.270Z`` is read field by field: all of those are repairs.
    """
    try:
        return _parse_time(value)
    except (OverflowError, ValueError):
        return None  # e.g. 0001-01-01T00:00:00+01:00 is before the first representable time


def _parse_time(value: str) -> tuple[datetime, bool] | None:
    exact = _UTC_TIME.match(value) is not None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is not None:
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC), True
        return moment.astimezone(UTC), not exact
    match = _SLOPPY_DATE.match(value)
    if not match:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
        if zone and zone != "Z":
            moment = datetime.fromisoformat(moment.isoformat() + zone)
    except ValueError:
        return None
    return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)), True
