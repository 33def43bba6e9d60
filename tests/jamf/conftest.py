"""Fixtures of the Jamf Pro companion's tests: the Jamf Pro simulator with its JCDS bucket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.jamf_pro import Simulator, running
from tests.packages.conftest import new_bucket, payload, s3_endpoint  # noqa: F401

MiB = 1024 * 1024


@pytest.fixture
def jamf(s3_endpoint: str) -> Iterator[Simulator]:  # noqa: F811 (the imported fixture)
    """A fresh Jamf Pro simulator with an empty JCDS bucket."""
    with running(s3_endpoint, new_bucket(s3_endpoint)) as simulator:
        yield simulator


__all__ = ["MiB", "payload"]
