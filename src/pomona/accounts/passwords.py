"""Passwords: argon2id with the parameters of RFC 9106's recommended profile, in a thread.

Hashing takes tens of milliseconds and 64 MiB by design, so it never runs on the event loop.
When the library's profile changes, a stored hash made with older parameters is replaced at the
person's next sign-in (:func:`verify` says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from anyio import to_thread
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from pomona.characters import describe, invisible
from pomona.errors import Invalid, Problem

HASHER = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)
MIN_LENGTH = 10
MAX_LENGTH = 1024  # argon2 takes any length; a bound keeps a megabyte "password" off the hasher


@cache
def _absent() -> str:
    """Verified when there is no account, so that an unknown name costs what a known one does.
    Made on first use: a hash costs tens of milliseconds, which every process (each worker, each
    CLI command) would otherwise pay at import."""
    return HASHER.hash("no account has this password")


@dataclass(frozen=True, slots=True)
class Verified:
    ok: bool
    new_hash: str | None = None  # set when the stored hash's parameters are out of date


def problems(password: str, path: str = "/password") -> list[Problem]:
    found = []
    if len(password) < MIN_LENGTH:
        found.append(Problem(path, f"use at least {MIN_LENGTH} characters", code="password_weak"))
    if len(password) > MAX_LENGTH:
        found.append(Problem(path, f"use at most {MAX_LENGTH} characters", code="password_long"))
    for index, char in enumerate(password):
        reason = invisible(char)
        if reason is not None:
            found.append(
                Problem(
                    path,
                    f"character {index + 1} ({describe(char)}) {reason}",
                    code="password_character",
                )
            )
            break
    return found


def check(password: str, path: str = "/password") -> None:
    found = problems(password, path)
    if found:
        raise Invalid(found)


async def hash_password(password: str) -> str:
    return await to_thread.run_sync(HASHER.hash, password)


async def verify(stored: str | None, password: str) -> Verified:
    """Whether ``password`` matches ``stored`` (None: no password; compared against a dummy hash
    so that the answer takes as long as for a real one)."""

    def work() -> Verified:
        try:
            HASHER.verify(stored or _absent(), password)
        except (VerificationError, InvalidHashError):
            return Verified(False)
        if stored is None:
            return Verified(False)
        if HASHER.check_needs_rehash(stored):
            return Verified(True, HASHER.hash(password))
        return Verified(True)

    if len(password) > MAX_LENGTH:
        return Verified(False)
    return await to_thread.run_sync(work)
