"""Version ordering: version strings sorted as people read them."""

from __future__ import annotations

from pomona.titles.ordering import newest_first


def test_version_strings_sort_as_people_read_them() -> None:
    assert newest_first(["10.13.3", "10.13.10", "10.13.9"]) == ["10.13.10", "10.13.9", "10.13.3"]
    assert newest_first(["16.9.18011602", "16.10.18021001", "16.10.17121001"]) == [
        "16.10.18021001",
        "16.10.17121001",
        "16.9.18011602",
    ]
    assert newest_first(["4.0.7724", "4.0.10000", "3.9"]) == ["4.0.10000", "4.0.7724", "3.9"]
    assert newest_first(["1.8.98", "1.8.162", "1.10"]) == ["1.10", "1.8.162", "1.8.98"]
    assert newest_first(["1.0b2", "1.0", "1.0.1", "1.0rc1"]) == ["1.0.1", "1.0", "1.0rc1", "1.0b2"]
