"""Times as Pomona writes them (the Jamf format) and reads them (ISO-8601, sloppy layouts
repaired and flagged)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pomona.times import format_time, parse_time


def test_format_time_always_gives_four_digit_years_in_utc() -> None:
    assert format_time(datetime(5, 1, 2, 3, 4, 5, tzinfo=UTC)) == "0005-01-02T03:04:05Z"
    assert format_time(datetime.fromisoformat("2024-05-01T14:00:00+02:00")) == (
        "2024-05-01T12:00:00Z"
    )


def test_parse_time_flags_repairs() -> None:
    assert parse_time("2024-05-01T12:00:00Z") == (datetime(2024, 5, 1, 12, tzinfo=UTC), False)
    assert parse_time("2024-05-01T14:00:00+02:00") == (datetime(2024, 5, 1, 12, tzinfo=UTC), True)
    assert parse_time("soon") is None


@pytest.mark.parametrize(
    ("given", "read"),
    [
        ("2017-9-12T14:19:38.270Z", datetime(2017, 9, 12, 14, 19, 38, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01 08:15", datetime(2024, 5, 1, 8, 15, tzinfo=UTC)),
        ("2024-5-1T10:00+0200", datetime(2024, 5, 1, 8, 0, tzinfo=UTC)),
    ],
)
def test_sloppy_layouts_are_read_and_flagged_as_repaired(given: str, read: datetime) -> None:
    assert parse_time(given) == (read, True)


def test_a_time_before_the_first_representable_one_is_not_a_time() -> None:
    assert parse_time("0001-01-01T00:00:00+01:00") is None
