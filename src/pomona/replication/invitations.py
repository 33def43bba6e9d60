"""Pairing codes: what ``pomona peers invite`` prints and ``pomona peers join`` takes.

A code carries the inviting site's URL, the invitation's id and a secret (``pmr1.`` and
base64url JSON, so it survives a chat message or a terminal). The inviting site keeps only the
secret's SHA-256. The joining site sends the secret back once, with a random salt; both then
derive the pair's key from the two, so each pair has its own key and none is typed by hand.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import orjson

from pomona.errors import Invalid

PREFIX = "pmr1."


@dataclass(frozen=True, slots=True)
class Code:
    url: str
    invitation_id: str
    secret: str

    def text(self) -> str:
        body = orjson.dumps({"u": self.url, "i": self.invitation_id, "s": self.secret})
        return PREFIX + base64.urlsafe_b64encode(body).decode().rstrip("=")


def bad_code(why: str) -> Invalid:
    return Invalid(
        f"this is not a pairing code ({why}); copy the whole code `pomona peers invite` printed "
        "on the other site",
        "/invitation",
        code="invitation_invalid",
    )


def read_code(text: str) -> Code:
    text = text.strip()
    if not text.startswith(PREFIX):
        raise bad_code(f"it does not start with {PREFIX}")
    encoded = text[len(PREFIX) :]
    try:
        found = orjson.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise bad_code("it is damaged") from None
    if not isinstance(found, dict) or not all(isinstance(found.get(k), str) for k in "uis"):
        raise bad_code("it is incomplete")
    return Code(found["u"], found["i"], found["s"])


def new_secret() -> str:
    return secrets.token_hex(32)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def pair_key(secret: str, salt: str) -> str:
    """The pair's key, from the invitation's secret and the joining site's salt."""
    return hmac.new(secret.encode(), f"pomona pair key {salt}".encode(), "sha256").hexdigest()


def rotated_key(key: str, salt: str) -> str:
    """The key that replaces ``key`` when either side rotates it, with the rotating side's salt."""
    return hmac.new(bytes.fromhex(key), f"pomona rotate {salt}".encode(), "sha256").hexdigest()
