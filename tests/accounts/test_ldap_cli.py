"""``pomona ldap test USER`` against the real slapd: what it shows, and what it says to fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from pomona.cli import app as cli
from tests.fixtures.slapd import GROUPS, PASSWORDS, SERVICE_DN, SERVICE_PASSWORD, Slapd, group


def write_config(slapd: Slapd, folder: Path, **overrides: object) -> Path:
    """A TOML settings file as an admin writes one, with the group -> role table."""
    values: dict[str, object] = {
        "ldap_url": f"ldaps://127.0.0.1:{slapd.ldaps_port}",
        "ldap_ca_file": str(slapd.ca_file),
        "ldap_bind_dn": SERVICE_DN,
        "ldap_bind_password": SERVICE_PASSWORD,
        "ldap_user_base": "dc=example,dc=org",
        "ldap_group_base": GROUPS,
        "ldap_group_search": "search",
        **overrides,
    }
    lines = [f"{key} = {_toml(value)}" for key, value in values.items()]
    lines += [
        "[group_roles]",
        f'"{group("admins").upper()}" = ["admin"]',
        f'"{group("editors")}" = ["editor@mac-team", "viewer"]',
    ]
    path = folder / "pomona.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _toml(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else f'"{value}"'


def ldap_test(config: Path, *args: str, password: str | None = None) -> Result:
    options = ["--password-stdin"] if password is not None else []
    return CliRunner().invoke(
        cli,
        ["ldap", "test", *args, *options, "--config", str(config)],
        input=None if password is None else password + "\n",
        env={"COLUMNS": "200"},
    )


def test_it_shows_the_entry_its_groups_and_the_roles_they_map_to(
    slapd: Slapd, tmp_path: Path
) -> None:
    done = ldap_test(write_config(slapd, tmp_path), "bob", password=PASSWORDS["bob"])

    assert done.exit_code == 0, done.output
    out = done.stdout
    assert "found       uid=bob,ou=people,dc=example,dc=org" in out
    assert "  mail         bob@example.org" in out
    assert "groups      3 (search, 5 levels of nesting)" in out
    assert f"  {group('editors')}  ->  editor@mac-team, viewer" in out
    assert f"  {group('everyone')}  ->  -" in out
    assert "roles       editor@mac-team, viewer" in out
    assert "person      bob, Bob Dylan <bob@example.org>" in out
    assert "password    accepted: sign-in would succeed" in out


def test_without_a_password_it_finds_and_says_it_did_not_check(
    slapd: Slapd, tmp_path: Path
) -> None:
    done = ldap_test(write_config(slapd, tmp_path), "alice")

    assert done.exit_code == 0, done.output
    assert "roles       admin" in done.stdout  # the key was written in capitals
    assert "password    not checked" in done.stdout


@pytest.mark.parametrize(
    ("username", "password", "overrides", "said"),
    [
        ("bob", "wrong", {}, ["refused this password for uid=bob"]),
        ("bob", "", {}, ["empty password is always refused"]),
        ("zoe", None, {}, ["no entry under", "next: run the search by hand", "'(uid=zoe)' dn"]),
        ("twin", None, {}, ["several entries", "next: narrow ldap_user_base"]),
        ("a*", None, {}, ["does not match ldap_username_pattern"]),
        (
            "bob",
            None,
            {"ldap_bind_password": "wrong"},
            ["refused the service account", "ldap_bind_password", "next: try the service account"],
        ),
        ("bob", None, {"wrong_ca": True}, ["TLS with", "openssl s_client -connect 127.0.0.1:"]),
        (
            "bob",
            None,
            {"start_tls_wrong_ca": True},
            ["TLS with", "-starttls ldap -showcerts"],
        ),
        ("bob", None, {"down": True}, ["cannot reach the directory", "next: is it listening?"]),
    ],
)
def test_a_failure_says_what_went_wrong_and_what_to_look_at(
    slapd: Slapd,
    tmp_path: Path,
    username: str,
    password: str | None,
    overrides: dict[str, object],
    said: list[str],
) -> None:
    values = dict(overrides)
    if values.pop("wrong_ca", False):
        values["ldap_ca_file"] = str(slapd.wrong_ca_file)
    if values.pop("start_tls_wrong_ca", False):
        values["ldap_url"] = f"ldap://127.0.0.1:{slapd.ldap_port}"
        values["ldap_ca_file"] = str(slapd.wrong_ca_file)
    if values.pop("down", False):
        values["ldap_url"] = "ldaps://127.0.0.1:1"
    done = ldap_test(write_config(slapd, tmp_path, **values), username, password=password)

    assert done.exit_code == 1, done.output
    message = " ".join(done.stderr.split())
    for words in said:
        assert words in message


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("search", "no group under ldap_group_base names this entry"),
        ("ad_in_chain", "the in-chain rule is Active Directory's"),
    ],
)
def test_a_person_in_no_group_is_shown_with_why_that_may_be(
    slapd: Slapd, tmp_path: Path, mode: str, said: str
) -> None:
    # hank is in no group; and OpenLDAP does not know AD's matching rule, so with it bob (in
    # three) shows none either, and the hint says why.
    username = "bob" if mode == "ad_in_chain" else "hank"
    done = ldap_test(write_config(slapd, tmp_path, ldap_group_search=mode), username)

    assert done.exit_code == 0, done.output
    out = " ".join(done.stdout.split())
    assert "groups 0" in out
    assert said in out
    assert "roles none: no group of this person is a key of group_roles" in out


def test_without_a_directory_it_says_so(tmp_path: Path) -> None:
    config = tmp_path / "pomona.toml"
    config.write_text('data_dir = "data"\n')
    done = ldap_test(config, "bob")

    assert done.exit_code == 2
    assert "ldap_url is not set" in done.stderr
