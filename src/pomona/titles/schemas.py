"""The Jamf Pro patch definition format as Pydantic models.

The models are strict (no type coercion, no unknown keys): ``validation.py`` repairs the sloppy
but unambiguous input found in real files before it reaches them and reports each repair as a
warning, so what passes here is exactly what the feed serves.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

ID_PATTERN = r"^[A-Za-z0-9._-]{1,255}$"

TitleId = Annotated[
    StrictStr,
    Field(
        pattern=ID_PATTERN,
        description="Letters, digits, '.', '_' and '-' only; Jamf Pro rejects anything else.",
        examples=["GoogleChrome"],
    ),
]
NonEmpty = Annotated[StrictStr, Field(min_length=1)]
# What the database keeps in a column of its own (titles.name, .publisher, .current_version).
ShortText = Annotated[StrictStr, Field(min_length=1, max_length=255)]

CriterionType = Literal["recon", "extensionAttribute"]
Operator = Literal[
    "is",
    "is not",
    "like",
    "not like",
    "greater than",
    "less than",
    "greater than or equal",
    "less than or equal",
    "has",
    "does not have",
    "matches regex",
    "does not match regex",
    "more than",
]
CRITERION_TYPES: tuple[str, ...] = get_args(CriterionType)
OPERATORS: tuple[str, ...] = get_args(Operator)


class JamfModel(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Criterion(JamfModel):
    """One test Jamf Pro runs against a computer's inventory or an extension attribute."""

    name: NonEmpty = Field(description="Inventory criterion name, or an EA key for that type")
    operator: Operator
    value: StrictStr
    type: CriterionType
    and_: StrictBool = Field(
        True, alias="and", description="false joins this criterion to the next with OR"
    )

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=True)


class KillApp(JamfModel):
    bundleId: StrictStr
    appName: StrictStr


class Component(JamfModel):
    name: NonEmpty
    version: NonEmpty
    criteria: list[Criterion] = Field(min_length=1)


class Patch(JamfModel):
    """One version of a title."""

    version: ShortText
    releaseDate: StrictStr = Field(description="UTC, served as YYYY-MM-DDTHH:MM:SSZ")
    standalone: StrictBool
    minimumOperatingSystem: StrictStr
    reboot: StrictBool
    killApps: list[KillApp]
    components: list[Component] = Field(min_length=1)
    capabilities: list[Criterion]
    dependencies: list[object] = Field(default_factory=list)


class ExtensionAttribute(JamfModel):
    key: TitleId
    value: StrictStr = Field(description="base64 of a script that prints <result>...</result>")
    displayName: NonEmpty


class SoftwareTitleSummary(JamfModel):
    """One entry of ``/software``."""

    id: TitleId
    name: NonEmpty
    publisher: NonEmpty
    lastModified: StrictStr
    currentVersion: StrictStr


class SoftwareTitle(JamfModel):
    """A full patch definition as served on ``/patch/{id}``."""

    id: TitleId
    name: ShortText
    publisher: ShortText
    appName: StrictStr | None = None
    bundleId: StrictStr | None = None
    lastModified: StrictStr
    currentVersion: StrictStr
    requirements: list[Criterion] = Field(min_length=1)
    patches: list[Patch] = Field(min_length=1)
    extensionAttributes: list[ExtensionAttribute] = Field(default_factory=list)

    def summary(self) -> SoftwareTitleSummary:
        return SoftwareTitleSummary(
            id=self.id,
            name=self.name,
            publisher=self.publisher,
            lastModified=self.lastModified,
            currentVersion=self.currentVersion,
        )

    def to_jamf(self) -> dict[str, object]:
        """The document as Jamf Pro reads it (``and`` under its real name)."""
        return self.model_dump(by_alias=True, mode="json")
