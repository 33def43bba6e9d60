"""Every domain's tables, imported in one place so Alembic and ``create_app`` see them all."""

from pomona.accounts.models import (
    Account,
    AccountGrant,
    AccountSession,
    AccountTotp,
    PersonalToken,
    SigninFailure,
)
from pomona.audit.models import AuditEvent
from pomona.auth.models import ApiToken
from pomona.db import Base
from pomona.events.models import Event
from pomona.jamf.models import JamfConnection, JamfPush, JamfRule
from pomona.packages.models import (
    Package,
    PackageBlob,
    PackageEvent,
    PackageHistory,
    PackagePending,
    PackageTag,
    PackageUpload,
)
from pomona.queue.models import Job, QueueLease
from pomona.titles.models import FeedState, Namespace, Title, TitleRevision

metadata = Base.metadata

__all__ = [
    "Account",
    "AccountGrant",
    "AccountSession",
    "AccountTotp",
    "ApiToken",
    "AuditEvent",
    "Event",
    "FeedState",
    "JamfConnection",
    "JamfPush",
    "JamfRule",
    "Job",
    "Namespace",
    "Package",
    "PackageBlob",
    "PackageEvent",
    "PackageHistory",
    "PackagePending",
    "PackageTag",
    "PackageUpload",
    "PersonalToken",
    "QueueLease",
    "SigninFailure",
    "Title",
    "TitleRevision",
    "metadata",
]
