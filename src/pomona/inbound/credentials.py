"""How a Jamf Pro server proves it is the source it claims: none, Basic, or a header map.

Nothing sent is kept as sent: the Basic password is kept as an argon2id hash (checked in a
thread), each header value as its SHA-256, compared with :func:`hmac.compare_digest` so the time
taken says nothing of how much of a secret was right.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
from collections.abc import Mapping

import orjson
from anyio import to_thread
from argon2.exceptions import InvalidHashError, VerificationError

from pomona.accounts.passwords import HASHER
from pomona.errors import Problem
from pomona.inbound.samples import REFUSED_HEADERS

log = logging.getLogger("pomona.inbound")

AUTH_MODES = ("none", "basic", "header")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")
_MAX_HEADERS = 16
_VALUE_MAX = 4096
# Header names that look like a signature: Jamf Pro's HASH_SIGNATURE mode is not documented
# (header name and signed string unknown), so what a server sends is logged to pin it down.
_SIGNATURE_LIKE = re.compile(r"sign|hmac|hash|digest|x-jamf", re.I)


def header_problems(headers: Mapping[str, str], path: str = "/headers") -> list[Problem]:
    problems: list[Problem] = []
    if not headers:
        problems.append(
            Problem(
                path, "give at least one header, e.g. Authorization", code="inbound_headers_empty"
            )
        )
    if len(headers) > _MAX_HEADERS:
        problems.append(
            Problem(path, f"at most {_MAX_HEADERS} headers", code="inbound_headers_many")
        )
    seen: set[str] = set()
    for name, value in headers.items():
        where = f"{path}/{name.replace('~', '~0').replace('/', '~1')}"
        if not _TOKEN.fullmatch(name):
            problems.append(
                Problem(
                    where, "not a header name (letters, digits and -)", code="inbound_header_name"
                )
            )
        elif name.lower() in REFUSED_HEADERS:
            problems.append(
                Problem(
                    where,
                    f"Jamf Pro does not send a custom {name} header; choose another",
                    code="inbound_header_refused",
                )
            )
        elif name.lower() in seen:
            problems.append(
                Problem(where, "given twice (names ignore case)", code="inbound_header_twice")
            )
        seen.add(name.lower())
        if not isinstance(value, str) or not value.strip() or len(value) > _VALUE_MAX:
            problems.append(
                Problem(
                    where,
                    f"give a value of 1 to {_VALUE_MAX} characters",
                    code="inbound_header_value",
                )
            )
        elif any(ord(c) < 32 or ord(c) == 127 for c in value):
            problems.append(
                Problem(
                    where,
                    "a header value cannot hold control characters",
                    code="inbound_header_value",
                )
            )
    return problems


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def hash_headers(headers: Mapping[str, str]) -> str:
    """The stored form: lower-case name to the SHA-256 of the value, as JSON."""
    return orjson.dumps(
        {name.lower(): _digest(value.strip()) for name, value in headers.items()}
    ).decode()


def header_names(stored: str | None) -> list[str]:
    return sorted(orjson.loads(stored)) if stored else []


def headers_match(stored: str | None, sent: Mapping[str, str]) -> bool:
    """Every configured header is present with its value; each compared in constant time and
    all of them compared, whatever the first result."""
    if not stored:
        return False
    expected: dict[str, str] = orjson.loads(stored)
    ok = True
    for name, digest in expected.items():
        ok &= hmac.compare_digest(_digest(sent.get(name, "").strip()), digest)
    return ok


async def basic_matches(
    username: str | None, password_hash: str | None, authorization: str
) -> bool:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic" or username is None or password_hash is None:
        return False
    try:
        user, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    same_user = hmac.compare_digest(user.encode(), username.encode())
    # The hash is checked even when the name is wrong, so both cost the same.
    try:
        same_password: bool = await to_thread.run_sync(HASHER.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        same_password = False
    return same_user and bool(same_password)


def log_signature_headers(source: str, headers: Mapping[str, str], known: set[str]) -> list[str]:
    """Log (and return the names of) headers that look like a signature and that the source
    does not check: what Jamf Pro's undocumented HASH_SIGNATURE mode sends."""
    found = [n for n in headers if _SIGNATURE_LIKE.search(n) and n.lower() not in known]
    for name in found:
        log.warning(
            "inbound source %s: unchecked signature-like header %s: %s",
            source,
            name,
            headers[name][:200],
        )
    return found


__all__ = [
    "AUTH_MODES",
    "REFUSED_HEADERS",
    "basic_matches",
    "hash_headers",
    "header_names",
    "header_problems",
    "headers_match",
    "log_signature_headers",
]
