"""Signed requests between peers: HTTP Message Signatures (RFC 9421) with the pair's key.

Every request covers ``@method``, ``@path``, ``@query`` and ``content-digest`` (RFC 9530, the
SHA-256 of the body, checked against the body received), with ``created``, ``keyid`` and a
random ``nonce``. The receiver refuses a signature older (or further ahead) than the allowed
clock skew, and a nonce it has seen within that time: a replay, even a byte-exact one, is
refused, and so is any change to the method, path, query or body.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    algorithms,
)
from http_message_signatures.exceptions import HTTPMessageSignaturesException

COVERED = ("@method", "@path", "@query", "content-digest")
LABEL = "pomona"
TAG = "pomona-peer"


@dataclass
class Message:
    """What the library reads of a request: its method, URL and headers."""

    method: str
    url: str
    headers: MutableMapping[str, str] = field(default_factory=dict)


class _Keys(HTTPSignatureKeyResolver):
    def __init__(self, keys: Mapping[str, bytes]) -> None:
        self.keys = keys

    def resolve_public_key(self, key_id: str) -> bytes | None:
        return self.keys.get(key_id)

    def resolve_private_key(self, key_id: str) -> bytes:
        return self.keys[key_id]


def sign(
    method: str,
    url: str,
    body: bytes,
    key_id: str,
    key: bytes,
    *,
    created: datetime | None = None,
) -> dict[str, str]:
    """The headers that sign this request (``Content-Digest``, ``Signature-Input``,
    ``Signature``), made now unless ``created`` says otherwise."""
    message = Message(method.upper(), url)
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.HMAC_SHA256, key_resolver=_Keys({key_id: key})
    )
    signer.sign(
        message,
        key_id=key_id,
        created=created,
        nonce=secrets.token_hex(16),
        label=LABEL,
        tag=TAG,
        covered_component_ids=COVERED,
        body=body,
    )
    return dict(message.headers)


@dataclass(frozen=True, slots=True)
class Signed:
    """A signature that verified: with which key id and nonce, and when it was made."""

    key_id: str
    nonce: str
    created: int


class Refused(Exception):
    """The request's signature is missing, wrong, stale or for another request."""


def key_id_of(headers: Mapping[str, str]) -> str | None:
    """The ``keyid`` a request claims, read before verifying to find its key."""
    value = headers.get("signature-input", "")
    start = value.find('keyid="')
    if start < 0:
        return None
    end = value.find('"', start + 7)
    return value[start + 7 : end] if end > start else None


def verify(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    candidates: Sequence[bytes],
    skew: timedelta,
) -> Signed:
    """Check the request's signature with one of ``candidates`` (the pair's key, and the one
    before its last rotation); :class:`Refused` says why. The nonce is for the caller to check
    against its store."""
    message = Message(method.upper(), url, dict(headers))
    error = "unknown key id"
    for key in candidates:
        key_id = key_id_of(headers) or ""
        verifier = HTTPMessageVerifier(
            signature_algorithm=algorithms.HMAC_SHA256, key_resolver=_Keys({key_id: key})
        )
        verifier.max_clock_skew = skew
        try:
            found = verifier.verify(
                message,
                max_age=timedelta(0),  # with the skew: no older than the skew, nor newer
                expect_tag=TAG,
                require_components=COVERED,
                body=body,
            )
        except (InvalidSignature, HTTPMessageSignaturesException) as exc:
            error = str(exc) or type(exc).__name__
            continue
        result = found[0]
        nonce = result.parameters.get("nonce")
        if not isinstance(nonce, str) or not 16 <= len(nonce) <= 64:
            raise Refused("the signature carries no nonce")
        return Signed(str(result.parameters["keyid"]), nonce, int(result.parameters["created"]))
    raise Refused(error)
