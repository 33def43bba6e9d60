"""The S3 server of the package store's tests, for backups to a bucket."""

from tests.packages.conftest import s3_endpoint

__all__ = ["s3_endpoint"]
