"""The directory's settings refuse what cannot work at start; groups map to role specs."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from pomona.accounts.directory import build_directory, role_specs
from pomona.accounts.ldap import LdapDirectory
from pomona.settings import Settings

LDAP = {"ldap_url": "ldaps://ldap.example.com", "ldap_user_base": "dc=example,dc=org"}


@pytest.mark.parametrize(
    ("values", "said"),
    [
        ({**LDAP, "ldap_url": "ldap://ldap.example.com", "ldap_start_tls": False}, "in clear"),
        ({**LDAP, "ldap_url": "http://ldap.example.com"}, "ldap_url"),
        ({**LDAP, "ldap_url": "ldaps://ldap.example.com/dc=example"}, "ldap_url"),
        ({**LDAP, "ldap_user_base": ""}, "ldap_user_base"),
        ({**LDAP, "ldap_group_search": "search"}, "ldap_group_base"),
        ({**LDAP, "ldap_group_search": "ad_in_chain"}, "ldap_group_base"),
        ({**LDAP, "ldap_user_filter": "(uid=alice)"}, "ldap_user_filter"),
        ({**LDAP, "ldap_username_pattern": "[a-z"}, "ldap_username_pattern"),
        ({**LDAP, "ldap_group_depth": 21}, "ldap_group_depth"),
        ({**LDAP, "ldap_timeout_seconds": 0}, "ldap_timeout_seconds"),
        ({"group_roles": {"cn=admins": ["boss"]}}, "unknown role 'boss'"),
        ({"group_roles": {"cn=pub": ["publisher"]}}, "needs a namespace"),
    ],
)
def test_settings_that_cannot_work_are_refused_naming_the_setting(
    values: dict[str, Any], said: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(**values)
    assert said in str(refused.value)


def test_plain_ldap_is_allowed_to_loopback_only_and_the_defaults_are_safe() -> None:
    local = Settings(**{**LDAP, "ldap_url": "ldap://127.0.0.1:389", "ldap_start_tls": False})
    assert local.ldap_url == "ldap://127.0.0.1:389"
    defaults = Settings()
    assert defaults.ldap_url is None
    assert defaults.ldap_start_tls is True
    assert defaults.group_roles == {}


def test_the_directory_is_built_only_when_ldap_url_is_set() -> None:
    assert build_directory(Settings()) is None
    assert isinstance(build_directory(Settings(**LDAP)), LdapDirectory)


def test_settings_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POMONA_LDAP_URL", "ldap://ldap.example.com")
    monkeypatch.setenv("POMONA_LDAP_USER_BASE", "ou=people,dc=example,dc=org")
    monkeypatch.setenv("POMONA_GROUP_ROLES", '{"cn=admins,dc=example,dc=org": ["admin"]}')
    settings = Settings()
    assert settings.ldap_url == "ldap://ldap.example.com"
    assert settings.group_roles == {"cn=admins,dc=example,dc=org": ["admin"]}


TABLE = {
    "CN=Pomona Admins, OU=Groups, DC=example, DC=org": ["admin"],
    "cn=editors,ou=groups,dc=example,dc=org": ["editor@mac-team", "viewer"],
    "2f0a6c1e-7d3b-4a52-9e1f-0c5b8d7a6e34": ["packager"],  # an Entra group object id
    "mac-admins": ["publisher@mac-team"],  # a group name, as Okta sends them
}


@pytest.mark.parametrize(
    ("groups", "specs"),
    [
        ({"cn=pomona admins,ou=groups,dc=example,dc=org"}, {"admin"}),
        ({"CN=Editors,OU=Groups,DC=Example,DC=Org"}, {"editor@mac-team", "viewer"}),
        ({"cn=editors, ou=groups, dc=example, dc=org"}, {"editor@mac-team", "viewer"}),
        ({"2F0A6C1E-7D3B-4A52-9E1F-0C5B8D7A6E34"}, {"packager"}),
        ({"mac-admins", "cn=other,dc=example,dc=org"}, {"publisher@mac-team"}),
        ({"cn=editors,ou=groups,dc=example,dc=com"}, set()),  # another domain's group
        ({"cn=pomona admins"}, set()),  # a name is not the DN it starts
        ({"cn=editors\\, ou=groups,dc=example,dc=org"}, set()),  # an escaped comma is a value's
        (set(), set()),
    ],
)
def test_groups_map_to_role_specs_through_the_table(groups: set[str], specs: set[str]) -> None:
    assert role_specs(frozenset(groups), TABLE) == specs
