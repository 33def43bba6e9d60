"""The second factor: TOTP (RFC 6238, 30-second steps, six digits) and recovery codes.

Enrolment hands out a secret as an ``otpauth://`` URI (what authenticator apps scan) and counts
only once one valid code confirms it. A code is accepted one step early or late (clocks drift)
and only once. Recovery codes are random, shown once and kept as SHA-256 digests; each works once.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

import pyotp

from pomona.characters import is_number

ISSUER = "Pomona"
RECOVERY_CODES = 10
_DRIFT = 1  # steps either side


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str
    uri: str


def enrol(username: str) -> Enrolment:
    secret = pyotp.random_base32()
    return Enrolment(secret, pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER))


def step_of(secret: str, code: str, *, after: int | None) -> int | None:
    """The time step ``code`` belongs to, or None when it is wrong or was used already
    (``after``: the step of the last code accepted)."""
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and is_number(code)):
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(time.time())
    for step in range(now - _DRIFT, now + _DRIFT + 1):
        if (after is None or step > after) and secrets.compare_digest(
            totp.generate_otp(step), code
        ):
            return step
    return None


def recovery_codes() -> list[str]:
    """Ten codes such as ``k7qm-2xwd-h4tn``: 60 random bits each."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return [
        "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))
        for _ in range(RECOVERY_CODES)
    ]


def digest(code: str) -> str:
    return hashlib.sha256(code.strip().lower().encode()).hexdigest()
