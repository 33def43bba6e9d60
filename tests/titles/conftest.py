"""Fixtures of the titles tests: the package store tests' S3 server, for static publication."""

from tests.packages.conftest import s3_endpoint

__all__ = ["s3_endpoint"]
