"""The package store's fixtures (an S3 server on loopback, apps built on demand), shared here so
the audit tests can drive remote-storage publication."""

from tests.packages.conftest import build, s3_bucket, s3_endpoint

__all__ = ["build", "s3_bucket", "s3_endpoint"]
