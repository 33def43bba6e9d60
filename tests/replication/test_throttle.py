"""Token buckets, transfer windows and the stage filter."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from pomona.errors import Invalid
from pomona.replication.changes import visible
from pomona.replication.throttle import TokenBucket, check_window, in_window


async def test_a_bucket_keeps_the_rate_after_its_burst() -> None:
    bucket = TokenBucket(1_000_000)  # 1 MB/s, a burst of one second's worth
    start = time.monotonic()
    for _ in range(20):
        await bucket.take(100_000)  # 2 MB in all: the second one must wait
    assert time.monotonic() - start >= 0.9


async def test_no_limit_never_waits() -> None:
    bucket = TokenBucket(0)
    start = time.monotonic()
    await bucket.take(10**12)
    assert time.monotonic() - start < 0.5


def test_windows_wrap_past_midnight() -> None:
    at = lambda hour: datetime(2026, 11, 30, hour, 30, tzinfo=UTC)  # noqa: E731
    assert in_window("22:00-06:00", at(23))
    assert in_window("22:00-06:00", at(3))
    assert not in_window("22:00-06:00", at(12))
    assert in_window("09:00-17:00", at(12))
    assert not in_window("09:00-17:00", at(20))
    assert in_window(None, at(12))


@pytest.mark.parametrize("window", ["25:00-06:00", "22:00", "10-12", "22:00-06:60"])
def test_a_malformed_window_is_refused_with_its_code(window: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_window(window)
    assert refused.value.code == "window_invalid"


def test_a_package_goes_where_one_of_its_tags_is_accepted() -> None:
    assert visible(["prod"], ["test", "prod"])
    assert not visible(["dev"], ["prod"])
    assert not visible([], ["prod"])  # no stage: only sites accepting every package
    assert visible([], [])
    assert visible(["dev"], [])
