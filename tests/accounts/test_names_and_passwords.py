"""Usernames (one rule, the refused character named) and passwords (argon2id, rehashed when the
parameters change)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from pomona.accounts import passwords, usernames


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("alice smith", "character 6 (U+0020 SPACE)"),
        ("token:x", "character 6 (U+003A COLON)"),
        ("zoë", "character 3 (U+00EB LATIN SMALL LETTER E WITH DIAERESIS)"),
        ("-alice", "start with a letter or a digit"),
        ("me", "reserved"),
        ("x" * 65, "at most 64"),
        ("", "give a username"),
    ],
)
def test_refused_usernames_say_why(name: str, message: str) -> None:
    found = usernames.problems(name)
    assert found
    assert message in found[0].message
    assert found[0].code == "username_invalid"


@pytest.mark.parametrize("name", ["alice", "j.doe", "jdoe@example.org", "a_b-c", "42"])
def test_accepted_usernames(name: str) -> None:
    assert usernames.problems(name) == []


def test_weak_and_invisible_passwords_are_refused() -> None:
    assert passwords.problems("short")[0].code == "password_weak"
    assert passwords.problems("long enough\u200bbut hidden")[0].code == "password_character"
    assert passwords.problems("a perfectly fine one") == []


async def test_argon2id_verify_and_rehash_when_parameters_change() -> None:
    stored = await passwords.hash_password("a perfectly fine one")
    assert stored.startswith("$argon2id$")
    assert (await passwords.verify(stored, "a perfectly fine one")) == passwords.Verified(True)
    assert not (await passwords.verify(stored, "another one entirely")).ok
    assert not (await passwords.verify(None, "a perfectly fine one")).ok
    old = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("a perfectly fine one")
    checked = await passwords.verify(old, "a perfectly fine one")
    assert checked.ok
    assert checked.new_hash is not None
    assert not passwords.HASHER.check_needs_rehash(checked.new_hash)
