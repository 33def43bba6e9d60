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
from pomona.events.models import (
    Event,
    EventCursor,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from pomona.inbound.models import InboundDelivery, InboundSource
from pomona.jamf.models import JamfConnection, JamfPush, JamfRule
from pomona.notifications.models import (
    NotificationDelivery,
    NotificationSubscription,
)
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
from pomona.replication.models import Invitation, Nonce, Offer, Peer, Transfer, TransferChunk
from pomona.subscriptions.models import Subscription
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
    "EventCursor",
    "FeedState",
    "InboundDelivery",
    "InboundSource",
    "Invitation",
    "JamfConnection",
    "JamfPush",
    "JamfRule",
    "Job",
    "Namespace",
    "Nonce",
    "NotificationDelivery",
    "NotificationSubscription",
    "Offer",
    "Package",
    "PackageBlob",
    "PackageEvent",
    "PackageHistory",
    "PackagePending",
    "PackageTag",
    "PackageUpload",
    "Peer",
    "PersonalToken",
    "QueueLease",
    "SigninFailure",
    "Subscription",
    "Title",
    "TitleRevision",
    "Transfer",
    "TransferChunk",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "metadata",
]
