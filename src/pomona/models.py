"""Every domain's tables, imported in one place so Alembic and ``create_app`` see them all."""

from pomona.auth.models import ApiToken
from pomona.db import Base
from pomona.packages.models import (
    Package,
    PackageBlob,
    PackageEvent,
    PackageHistory,
    PackageTag,
    PackageUpload,
)
from pomona.titles.models import FeedState, Title, TitleRevision

metadata = Base.metadata

__all__ = [
    "ApiToken",
    "FeedState",
    "Package",
    "PackageBlob",
    "PackageEvent",
    "PackageHistory",
    "PackageTag",
    "PackageUpload",
    "Title",
    "TitleRevision",
    "metadata",
]
