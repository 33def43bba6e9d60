"""Directories people sign in through (LDAP, OpenID Connect), and how their groups become roles.

Every directory answers the same two questions: is this the person's password
(:meth:`Directory.authenticate`), and does the person still exist, in which groups
(:meth:`Directory.lookup`, asked again at each re-check so that a person removed from a group
loses what it granted). Groups are named as the directory names them: DNs for LDAP, names or
Entra object ids for OpenID Connect. :func:`role_specs` turns them into role specs through the
``group_roles`` setting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from pomona.accounts.oidc_settings import OidcSettings

if TYPE_CHECKING:
    from pomona.settings import Settings

LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True, slots=True)
class DirectoryPerson:
    """A person as a directory describes them, at the moment it was asked."""

    username: str
    display_name: str
    email: str | None
    groups: frozenset[str]  # as the directory names them (DNs, names or ids)
    source: str  # "ldap" or "oidc"


class Directory(Protocol):
    async def authenticate(self, username: str, password: str) -> DirectoryPerson | None:
        """The person, or None when the directory refuses the username or password.

        A directory that cannot be reached raises :class:`pomona.errors.Unavailable`: that is
        never the same answer as a wrong password.
        """
        ...

    async def lookup(self, username: str) -> DirectoryPerson | None:
        """The person as the directory describes them now; None when they are gone."""
        ...


# Separators of a DN with the spaces around them; an escaped separator (``\,``) is a value's.
_DN_SPACES = re.compile(r"(?<!\\)\s*([,=+])\s*")


def group_key(group: str) -> str:
    """The form in which a group is compared with the keys of ``group_roles``.

    DNs are compared as LDAP compares them: attribute names and (for the usual attributes)
    values without regard to case, and spaces around separators insignificant, so
    ``CN=Admins, OU=Groups`` matches ``cn=admins,ou=groups``. Entra object ids are hexadecimal
    GUIDs, which case does not change either, and plain names are compared the same way.
    """
    return _DN_SPACES.sub(r"\1", group.strip()).casefold()


def role_specs(groups: frozenset[str], mapping: Mapping[str, Sequence[str]]) -> frozenset[str]:
    """Every role spec the person's groups grant through ``mapping`` (``group_roles``)."""
    keys = {group_key(g) for g in groups}
    return frozenset(
        spec for group, specs in mapping.items() if group_key(group) in keys for spec in specs
    )


class DirectorySettings(OidcSettings):
    """The settings of directory sign-in: LDAP, OpenID Connect (``oidc_*``, inherited), and
    the table from groups to roles.

    Part of :class:`pomona.settings.Settings` (which inherits them, so they are read like every
    other setting, ``POMONA_LDAP_URL`` and so on); documented in ``docs/configuration.md``.
    """

    ldap_url: str | None = Field(
        None,
        pattern=r"^ldaps?://[^/\s]+/?$",
        description="`ldaps://host:636`, or `ldap://host:389` with StartTLS. Unset: no LDAP.",
    )
    ldap_start_tls: bool = Field(True, description="StartTLS on an `ldap://` URL.")
    ldap_ca_file: Path | None = Field(
        None, description="PEM file of the CAs to trust for the directory; unset: the system's."
    )
    ldap_bind_dn: str = Field("", description="DN of the service account that searches.")
    ldap_bind_password: SecretStr = Field(SecretStr(""), description="Its password.")
    ldap_user_base: str = Field("", description="Subtree where people are searched.")
    ldap_user_filter: str = Field(
        "(uid={username})",
        pattern=r"^\(.*\{username\}.*\)$",
        description="Filter finding one person; `{username}` is replaced, escaped.",
    )
    ldap_username_pattern: str = Field(
        r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$",
        description="Regular expression a username must match before any search.",
    )
    ldap_group_base: str = Field("", description="Subtree where groups are searched.")
    ldap_group_search: Literal["memberof", "search", "ad_in_chain"] = Field(
        "memberof", description="How groups are found: see docs/accounts.md."
    )
    ldap_group_depth: int = Field(
        5, ge=0, le=20, description="Levels of groups within groups followed."
    )
    ldap_timeout_seconds: int = Field(
        10, ge=1, le=120, description="Connect and answer time limit of each LDAP call."
    )
    group_roles: dict[str, list[str]] = Field(
        {}, description="Directory group (DN, name or object id) -> role specs it grants."
    )

    @field_validator("ldap_username_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        # A bad pattern is a configuration error now, not at the first sign-in.
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value

    @field_validator("group_roles")
    @classmethod
    def _role_specs(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        from pomona.accounts.roles import parse_all  # the one reader of role specs
        from pomona.errors import Invalid

        for group, specs in value.items():
            try:
                parse_all(specs)
            except Invalid as exc:
                raise ValueError(f"group_roles[{group!r}]: {exc}") from None
        return value

    @model_validator(mode="after")
    def _ldap_complete(self) -> Self:
        if not self.ldap_url:
            return self
        url = urlsplit(self.ldap_url)
        # A password sent in clear to another host can be read by anyone on the way.
        if url.scheme == "ldap" and not self.ldap_start_tls and url.hostname not in LOOPBACK:
            raise ValueError("ldap_url: ldap:// without ldap_start_tls sends passwords in clear")
        if not self.ldap_user_base:
            raise ValueError("ldap_user_base: say where people are searched")
        if self.ldap_group_search != "memberof" and not self.ldap_group_base:
            raise ValueError(
                f"ldap_group_base: ldap_group_search = {self.ldap_group_search} searches groups "
                "there"
            )
        return self


def build_directory(settings: Settings) -> Directory | None:
    """The directory the settings name for password sign-in; None when there is none."""
    if not settings.ldap_url:
        return None
    # Imported here: ldap3 is needed only where a directory is configured.
    from pomona.accounts.ldap import LdapDirectory

    return LdapDirectory(settings)
