"""Pomona: patch source, distribution point and Jamf Pro companion for Mac admins."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pomona")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
