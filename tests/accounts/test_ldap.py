"""LDAP sign-in against a real OpenLDAP slapd (tests/fixtures/slapd.py): search-then-bind, groups
(nested, every kind of group), TLS verified both ways in, and a directory that is away."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import anyio
import pytest

from pomona.accounts.directory import role_specs
from pomona.accounts.ldap import LdapDirectory
from pomona.errors import Conflict, Invalid, NotFound, Unavailable
from tests.fixtures.slapd import MODIFY_DELETE, PASSWORDS, Slapd, group, person

ROLES = {
    "CN=Admins, OU=Groups, DC=example, DC=org": ["admin"],
    group("editors"): ["editor"],
    group("staff"): ["viewer"],
    group("designers"): ["packager"],
}


def directory(slapd: Slapd, **overrides: object) -> LdapDirectory:
    return LdapDirectory(slapd.settings(**overrides))  # type: ignore[arg-type]


@pytest.fixture(params=["ldaps", "starttls"])
def tls_directory(slapd: Slapd, request: pytest.FixtureRequest) -> LdapDirectory:
    return directory(slapd, start_tls=request.param == "starttls")


async def test_the_right_password_signs_in_with_what_the_directory_says(
    tls_directory: LdapDirectory,
) -> None:
    person = await tls_directory.authenticate("alice", PASSWORDS["alice"])

    assert person is not None
    assert (person.username, person.display_name, person.email, person.source) == (
        "alice",
        "Alice Liddell",
        "alice@example.org",
        "ldap",
    )
    assert person.groups == {group("admins"), group("everyone")}
    assert role_specs(person.groups, ROLES) == {"admin"}


async def test_a_wrong_password_is_refused(tls_directory: LdapDirectory) -> None:
    assert await tls_directory.authenticate("alice", PASSWORDS["bob"]) is None
    assert await tls_directory.authenticate("alice", PASSWORDS["alice"] + " ") is None


async def test_an_empty_password_is_refused_before_anything_is_asked(slapd: Slapd) -> None:
    # LDAP takes a DN with an empty password as an anonymous bind that succeeds.
    assert await directory(slapd).authenticate("alice", "") is None
    entry = await directory(slapd).find("alice")
    assert await directory(slapd).check_password(entry.dn, "") is False
    # Refused before connecting: a directory that is away would have raised Unavailable.
    away = directory(slapd, ldap_url=f"ldaps://127.0.0.1:{_closed_port()}")
    assert await away.authenticate("alice", "") is None


async def test_an_unknown_person_is_refused_and_find_says_none_matched(slapd: Slapd) -> None:
    assert await directory(slapd).authenticate("zoe", "anything") is None
    assert await directory(slapd).lookup("zoe") is None
    with pytest.raises(NotFound) as found:
        await directory(slapd).find("zoe")
    assert found.value.code == "ldap_no_entry"
    assert "(uid=zoe)" in str(found.value)


@pytest.mark.parametrize("username", ["*)(uid=*", "*", "alice)(|(uid=*", "al*", "alice\\2a"])
async def test_filter_injection_finds_no_one(slapd: Slapd, username: str) -> None:
    # The default pattern refuses these names before any search...
    with pytest.raises(Invalid) as refused:
        await directory(slapd).find(username)
    assert refused.value.code == "ldap_username_refused"
    assert await directory(slapd).authenticate(username, PASSWORDS["alice"]) is None
    # ...and with a pattern that lets anything through, escaping makes them literal values.
    anything = directory(slapd, ldap_username_pattern=".*")
    with pytest.raises(NotFound):
        await anything.find(username)
    assert await anything.authenticate(username, PASSWORDS["alice"]) is None


async def test_a_name_that_finds_several_entries_is_refused(slapd: Slapd) -> None:
    assert await directory(slapd).authenticate("twin", PASSWORDS["twin"]) is None
    with pytest.raises(Conflict) as several:
        await directory(slapd).find("twin")
    assert several.value.code == "ldap_several_entries"
    assert "ldap_user_filter" in str(several.value)


@pytest.mark.parametrize("mode", ["memberof", "search"])
async def test_nested_groups_are_followed_to_the_depth_set(slapd: Slapd, mode: str) -> None:
    if mode not in slapd.group_modes:
        pytest.skip("this slapd has no memberof overlay")
    bob = await directory(slapd, ldap_group_search=mode).lookup("bob")
    assert bob is not None
    assert bob.groups == {group("editors"), group("staff"), group("everyone")}
    assert role_specs(bob.groups, ROLES) == {"editor", "viewer"}

    one = await directory(slapd, ldap_group_search=mode, ldap_group_depth=1).lookup("bob")
    assert one is not None
    assert one.groups == {group("editors"), group("staff")}
    direct = await directory(slapd, ldap_group_search=mode, ldap_group_depth=0).lookup("bob")
    assert direct is not None
    assert direct.groups == {group("editors")}
    # Groups that contain each other end the walk instead of looping.
    carol = await directory(slapd, ldap_group_search=mode).lookup("carol")
    assert carol is not None
    assert {group("loop-a"), group("loop-b")} <= carol.groups


async def test_the_group_search_finds_unique_member_and_member_uid_groups(slapd: Slapd) -> None:
    search = directory(slapd, ldap_group_search="search")
    dave = await search.authenticate("dave", PASSWORDS["dave"])
    carol = await search.lookup("carol")

    assert dave is not None
    assert dave.groups == {group("designers")}
    assert role_specs(dave.groups, ROLES) == {"packager"}
    assert carol is not None
    assert carol.groups == {group("posix"), group("loop-a"), group("loop-b")}


@pytest.fixture
def frank_out_of_editors(slapd: Slapd) -> Iterator[None]:
    yield
    slapd.restore_editors()


@pytest.mark.usefixtures("frank_out_of_editors")
@pytest.mark.parametrize("mode", ["memberof", "search"])
async def test_a_person_removed_from_a_group_loses_it_at_the_next_lookup(
    slapd: Slapd, mode: str
) -> None:
    if mode not in slapd.group_modes:
        pytest.skip("this slapd has no memberof overlay")
    ldap = directory(slapd, ldap_group_search=mode)
    before = await ldap.authenticate("frank", PASSWORDS["frank"])
    assert before is not None
    assert role_specs(before.groups, ROLES) == {"editor", "viewer"}

    slapd.modify(group("editors"), {"member": [(MODIFY_DELETE, [person("frank")])]})

    after = await ldap.lookup("frank")
    assert after is not None
    assert after.groups == frozenset()
    assert role_specs(after.groups, ROLES) == frozenset()


async def test_a_person_deleted_from_the_directory_is_gone_at_the_next_lookup(
    slapd: Slapd,
) -> None:
    dn = person("gus")
    conn = slapd.admin()
    try:
        attributes = {"cn": "Gus", "sn": "Gus", "userPassword": "gus-password"}
        assert conn.add(dn, ["inetOrgPerson"], attributes), conn.result
        assert await directory(slapd).authenticate("gus", "gus-password") is not None
        assert conn.delete(dn), conn.result
    finally:
        conn.unbind()
    assert await directory(slapd).lookup("gus") is None
    assert await directory(slapd).authenticate("gus", "gus-password") is None


@pytest.mark.parametrize("start_tls", [False, True], ids=["ldaps", "starttls"])
async def test_a_certificate_from_another_ca_is_refused(slapd: Slapd, start_tls: bool) -> None:
    wrong = directory(slapd, start_tls=start_tls, ldap_ca_file=slapd.wrong_ca_file)
    with pytest.raises(Unavailable) as refused:
        await wrong.authenticate("alice", PASSWORDS["alice"])
    assert refused.value.code == "ldap_tls"
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)
    assert "ldap_ca_file" in str(refused.value)


async def test_a_missing_ca_file_says_so(slapd: Slapd) -> None:
    missing = directory(slapd, ldap_ca_file=slapd.ca_file.with_name("nowhere.pem"))
    with pytest.raises(Unavailable) as refused:
        await missing.lookup("alice")
    assert refused.value.code == "ldap_tls"
    assert "nowhere.pem" in str(refused.value)


async def test_a_refused_service_account_is_unavailable_not_a_wrong_password(
    slapd: Slapd,
) -> None:
    wrong = directory(slapd, ldap_bind_password="not-the-service-password")
    with pytest.raises(Unavailable) as refused:
        await wrong.authenticate("alice", PASSWORDS["alice"])
    assert refused.value.code == "ldap_bind_refused"
    assert "ldap_bind_password" in str(refused.value)


async def test_a_user_base_that_does_not_exist_is_named(slapd: Slapd) -> None:
    wrong = directory(slapd, ldap_user_base="ou=nobody,dc=example,dc=org")
    with pytest.raises(Unavailable) as refused:
        await wrong.lookup("alice")
    assert refused.value.code == "ldap_search_failed"
    assert "ou=nobody,dc=example,dc=org" in str(refused.value)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("scheme", ["ldaps", "ldap"])
async def test_a_directory_that_is_down_is_unavailable(slapd: Slapd, scheme: str) -> None:
    away = directory(slapd, ldap_url=f"{scheme}://127.0.0.1:{_closed_port()}")
    with pytest.raises(Unavailable) as down:
        await away.authenticate("alice", PASSWORDS["alice"])
    assert down.value.code == "ldap_unreachable"
    assert "check ldap_url" in str(down.value)
    with pytest.raises(Unavailable):
        await away.lookup("alice")


async def test_a_directory_that_never_answers_times_out_off_the_event_loop(
    slapd: Slapd,
) -> None:
    # A port that accepts connections and then says nothing, as a hung server does.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        hung = directory(slapd, ldap_url=f"ldaps://127.0.0.1:{port}", ldap_timeout_seconds=1)
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await anyio.sleep(0.05)
                ticks += 1

        started = time.monotonic()
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(tick)
            with pytest.raises(Unavailable) as timed_out:
                await hung.authenticate("alice", PASSWORDS["alice"])
            tasks.cancel_scope.cancel()
        elapsed = time.monotonic() - started

    assert timed_out.value.code == "ldap_timeout"
    assert "ldap_timeout_seconds" in str(timed_out.value)
    assert elapsed < 5
    # The event loop kept running while the directory was waited for.
    assert ticks >= elapsed / 0.05 * 0.5
