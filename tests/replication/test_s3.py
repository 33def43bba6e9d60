"""Replication with S3 storage on one side (moto's S3 server): a package goes from a local
store into S3, and from S3 into a local store."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.sites import pair, payload, sites, wait_until

from tests.packages.conftest import CREDENTIALS, new_bucket, s3_endpoint

pytestmark = pytest.mark.slow

__all__ = ["s3_endpoint"]  # the fixture, used by name below


def test_packages_flow_between_local_and_s3_storage(tmp_path: Path, s3_endpoint: str) -> None:
    in_s3 = {
        "package_storage": "s3",
        "s3_bucket": new_bucket(s3_endpoint),
        "s3_endpoint_url": s3_endpoint,
        "s3_region": "us-east-1",
        "s3_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "s3_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }
    with sites(tmp_path, ("local", {}), ("cloud", in_s3)) as (local, cloud):
        pair(local, cloud)
        there = payload(2 * 1024 * 1024 + 11, seed=7)
        there_sha = local.upload("Up.pkg", there, tags=["prod"])
        wait_until(lambda: cloud.has("Up.pkg", there_sha), what="the package in S3")
        assert cloud.package("Up.pkg")["tags"] == ["prod"]
        assert cloud.download("Up.pkg") == there
        back = payload(1024 * 1024 + 3, seed=8)
        back_sha = cloud.upload("Down.pkg", back)
        wait_until(lambda: cloud.has("Down.pkg", back_sha), what="the upload stored in S3")
        wait_until(lambda: local.has("Down.pkg", back_sha), what="the package out of S3")
        assert local.download("Down.pkg") == back
