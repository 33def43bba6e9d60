"""The event types of the inbound domain: each Jamf Pro webhook received, and the two Jamf
events Pomona reads into typed payloads. Field names follow Jamf's own (``jssID``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from pomona.events.types import EventType


class WebhookReceived(BaseModel):
    source: str = Field(description="The inbound source's name (`/hooks/jamf/<source>`).")
    delivery: int = Field(description="The stored delivery's id (`.../sources/<source>/events`).")
    webhookEvent: str = Field(description="Jamf Pro's event name, e.g. `ComputerAdded`.")
    webhookId: int | None = Field(None, description="The webhook's id in Jamf Pro.")
    webhookName: str | None = Field(None, description="The webhook's name in Jamf Pro.")
    eventTimestamp: str | None = Field(None, description="When Jamf Pro sent it, ISO-8601.")


class PatchTitleUpdated(BaseModel):
    """A patch title in Jamf Pro has a new version (``PatchSoftwareTitleUpdated``)."""

    source: str = Field(description="The inbound source's name (`/hooks/jamf/<source>`).")
    delivery: int = Field(description="The stored delivery's id (`.../sources/<source>/events`).")
    jssID: int | None = Field(None, description="The patch title's id in Jamf Pro.")
    name: str | None = Field(None, description="The patch title's name.")
    latestVersion: str | None = Field(None, description="Its newest version.")
    lastUpdate: str | None = Field(None, description="ISO-8601.")
    reportUrls: list[str] = Field(
        default_factory=list, description="From `reportUrls`, or the older single `reportUrl`."
    )


class Computer(BaseModel):
    jssID: int | None = None
    deviceName: str | None = None
    serialNumber: str | None = None
    udid: str | None = None
    username: str | None = None
    osVersion: str | None = None


class PatchPolicyCompleted(BaseModel):
    """A patch policy ran on a computer (``ComputerPatchPolicyCompleted``)."""

    source: str = Field(description="The inbound source's name (`/hooks/jamf/<source>`).")
    delivery: int = Field(description="The stored delivery's id (`.../sources/<source>/events`).")
    patchPolicyId: int | None = Field(None, description="The patch policy's id in Jamf Pro.")
    patchPolicyName: str | None = Field(None, description="The patch policy's name.")
    softwareTitleId: int | None = Field(None, description="The patch title's id in Jamf Pro.")
    deployedVersion: str | None = Field(None, description="The version it installed.")
    successful: bool | None = Field(None, description="Whether it succeeded.")
    eventActions: list[str] = Field(default_factory=list, description="What it did, as listed.")
    computer: Computer | None = Field(None, description="The computer it ran on.")


class ActionFailed(BaseModel):
    source: str = Field(description="The inbound source's name (`/hooks/jamf/<source>`).")
    delivery: int = Field(description="The stored delivery's id (`.../sources/<source>/events`).")
    webhookEvent: str = Field(description="Jamf Pro's event name.")
    action: str = Field(description="The rule's action that failed.")
    message: str = Field(description="Why it failed.")


WEBHOOK_RECEIVED = EventType(
    "jamf.webhook_received", "A Jamf Pro webhook was received and stored.", WebhookReceived
)
PATCH_TITLE_UPDATED = EventType(
    "jamf.patch_title_updated",
    "Jamf Pro reported a new version of a patch title.",
    PatchTitleUpdated,
)
PATCH_POLICY_COMPLETED = EventType(
    "jamf.patch_policy_completed",
    "A Jamf Pro patch policy completed on a computer.",
    PatchPolicyCompleted,
)
ACTION_FAILED = EventType(
    "jamf.action_failed", "An action a Jamf Pro webhook triggered failed.", ActionFailed
)


class SourceChanged(BaseModel):
    name: str = Field(description="The source's name (`/hooks/jamf/<name>`).")
    auth: str = Field(description="How it authenticates: `none`, `basic` or `header`.")
    enabled: bool = Field(description="Whether it accepts webhooks.")


SOURCE_CREATED = EventType(
    "jamf.source_created", "An inbound Jamf Pro webhook source was added.", SourceChanged
)
SOURCE_UPDATED = EventType(
    "jamf.source_updated", "An inbound Jamf Pro webhook source was changed.", SourceChanged
)
SOURCE_DELETED = EventType(
    "jamf.source_deleted", "An inbound Jamf Pro webhook source was removed.", SourceChanged
)

TYPES = (
    WEBHOOK_RECEIVED,
    PATCH_TITLE_UPDATED,
    PATCH_POLICY_COMPLETED,
    ACTION_FAILED,
    SOURCE_CREATED,
    SOURCE_UPDATED,
    SOURCE_DELETED,
)
